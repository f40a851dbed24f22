//! Options of the agent-graph formats (`dag_jsonl`, `weka_trace`, `tracelab`): AIPerf's
//! `--use-think-time-only`, `--max-context-length`, `--allow-dataset-wrap`.

/// What the agentic trace loaders read besides the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgenticOptions {
    /// `--use-think-time-only`: a turn's delay is the recorded think time alone, not the whole
    /// gap since the previous request.
    pub use_think_time_only: bool,
    /// `--max-context-length`: traces whose context grows past this many tokens are skipped.
    pub max_context_length: Option<u64>,
    /// `--allow-dataset-wrap`: reuse traces across lanes when there are more lanes than traces.
    pub allow_dataset_wrap: bool,
}
