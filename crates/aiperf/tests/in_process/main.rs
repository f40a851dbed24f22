//! End-to-end suites that run the client and the mock server in this one process: the engine is
//! called directly (`common::Profile::run`), artifacts and the mock's recorded requests checked.
//! One module per suite (they used to be separate test binaries; one binary links once).
//!
//! Shared process state: the suites set no environment variables, never change the current
//! directory and install no signal handlers of their own, so they run in parallel as before.

#[path = "../common/mod.rs"]
mod common;

mod accuracy;
mod agent_graphs;
mod agentic_replay;
mod agentic_traces;
mod analyze;
mod chat_template;
mod control_hooks;
mod datasets;
mod distributed;
mod e2e;
mod endpoints;
mod export_level;
mod failed_threshold;
mod fake_hub;
mod faults;
mod hostile_inputs;
mod hostile_runs;
mod hostile_urls;
mod hub;
mod load;
mod media;
mod metrics;
mod mock_metrics;
mod model_selection;
mod multi_run;
mod network_latency;
mod outputs;
mod plots;
mod plugins;
mod public_datasets;
mod public_media;
mod publish_live;
mod publish_tracking;
mod schemas;
mod search_generic;
mod shaping;
mod subcommands;
mod telemetry;
mod trace_formats;
mod transport;
mod warmup_prefill;
mod yaml_inline;
