//! Synthetic workload shaping end to end: `--seq-dist`, `--random-range-ratio`, `--prompt-corpus`,
//! `--cache-bust`, checked in the bodies the mock received.
