//! `aiperf analyze-trace`, `aiperf validate` and `aiperf synthesize` as a user runs them.
