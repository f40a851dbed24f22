//! Accuracy benchmarking (`--accuracy-*`): a public benchmark's problems as the dataset, each
//! answer graded during the run. Resolved in `resolve/accuracy.rs`; the benchmarks and graders
//! live in `aiperf-accuracy`.

use clap::Args;

/// `aiperf profile` flags of the Accuracy group (AIPerf 0.13's names and values).
#[derive(Debug, Clone, Default, Args)]
pub struct AccuracyArgs {
    /// Accuracy benchmark to run (e.g., mmlu, aime, hellaswag). When set, enables accuracy
    /// benchmarking mode alongside performance profiling.
    #[arg(long, value_parser = [
        "mmlu", "mmlu_pro", "aime", "hellaswag", "bigbench", "aime24", "aime25", "math_500",
        "gsm8k", "gpqa_diamond", "lcb_codegeneration",
    ], ignore_case = true, help_heading = "Accuracy")]
    pub accuracy_benchmark: Option<String>,
    /// Specific tasks or subtasks within the benchmark to evaluate (e.g., specific MMLU
    /// subjects). Accepts comma-separated values (e.g. abstract_algebra,anatomy) or repeated
    /// flags. If not set, all tasks are included.
    #[arg(long, value_name = "TASKS", help_heading = "Accuracy")]
    pub accuracy_tasks: Vec<String>,
    /// Number of few-shot examples to include in the prompt. 0 means zero-shot evaluation,
    /// unset uses the benchmark default (e.g. MMLU=5). Maximum 32.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Accuracy"
    )]
    pub accuracy_n_shots: Option<i64>,
    /// Enable chain-of-thought prompting for accuracy evaluation. Adds reasoning instructions to
    /// the prompt. Defaults to the benchmark's default (e.g. AIME defaults to True).
    #[arg(
        long,
        overrides_with = "accuracy_no_enable_cot",
        help_heading = "Accuracy"
    )]
    pub accuracy_enable_cot: bool,
    /// Disable chain-of-thought prompting, whatever the benchmark's default.
    #[arg(
        long,
        overrides_with = "accuracy_enable_cot",
        help_heading = "Accuracy"
    )]
    pub accuracy_no_enable_cot: bool,
    /// Override the default grader for the selected benchmark (e.g., exact_match, math,
    /// multiple_choice, code_execution). If not set, uses the benchmark's default grader.
    #[arg(long, value_parser = [
        "exact_match", "math", "multiple_choice", "code_execution", "lighteval_expr",
        "lighteval_latex", "lighteval_gpqa", "lighteval_gsm8k", "mmlu_pro",
    ], ignore_case = true, help_heading = "Accuracy")]
    pub accuracy_grader: Option<String>,
    /// Custom system prompt to use for accuracy evaluation. Overrides any benchmark-specific
    /// system prompt.
    #[arg(long, value_name = "TEXT", help_heading = "Accuracy")]
    pub accuracy_system_prompt: Option<String>,
    /// Enable verbose output for accuracy evaluation, showing per-problem grading details.
    #[arg(long, help_heading = "Accuracy")]
    pub accuracy_verbose: bool,
}
