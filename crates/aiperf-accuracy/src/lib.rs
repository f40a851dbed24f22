//! Accuracy benchmarking (`--accuracy-benchmark`): a public benchmark's problems become the
//! run's dataset, and each answer is graded while the run measures.
//!
//! This crate is pure data in, data out: a benchmark turns the rows of its Hub dataset splits
//! (read elsewhere, see [`Source`]) into [`Problem`]s exactly as AIPerf 0.13 builds them; a
//! grader turns (model output, ground truth) into a [`Grade`]; [`summary`] folds grades into
//! AIPerf's overall and per-task rates. The one exception is the `code_execution` grader, which
//! runs the model's program in a Python child process (sandboxed, with limits).

pub mod benchmarks;
pub mod graders;
pub mod oracle;
pub mod summary;

pub use benchmarks::{Benchmark, BenchmarkKind, LoadRequest, Source};
pub use graders::{Grader, GraderKind};

use serde::{Deserialize, Serialize};

/// One row of a dataset file: column name to value.
pub type Row = serde_json::Map<String, serde_json::Value>;

/// One chat message of a benchmark prompt (`{role, content}` only, as AIPerf's
/// `AccuracyChatMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_string(),
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// One problem of a benchmark (AIPerf's `BenchmarkProblem`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problem {
    /// The flat prompt (what a completions endpoint sends, and `inputs.json` shows).
    pub prompt: String,
    /// What the grader compares against (for some benchmarks a raw field the grader
    /// normalises, e.g. GSM8K's `... #### 72`; for LiveCodeBench a JSON blob of test cases).
    pub ground_truth: String,
    /// Task or subtask (an MMLU subject, a BBH task, the benchmark's own name).
    pub task: String,
    /// The chat messages sent to message-based endpoints; `None`: one user message holding
    /// `prompt`.
    pub messages: Option<Vec<ChatMessage>>,
    /// `max_tokens` to request (AIPerf's `metadata["generation_size"]`, default 100).
    pub generation_size: Option<u32>,
    /// Server-side stop sequences (`metadata["stop_sequence"]`), sent as `stop`.
    pub stop: Option<Vec<String>>,
}

impl Problem {
    /// A problem sent as one user message holding `prompt`, without stop sequences.
    pub(crate) fn user_message(
        prompt: String,
        ground_truth: impl Into<String>,
        task: impl Into<String>,
        generation_size: u32,
    ) -> Self {
        Self {
            messages: Some(vec![ChatMessage::user(prompt.clone())]),
            prompt,
            ground_truth: ground_truth.into(),
            task: task.into(),
            generation_size: Some(generation_size),
            stop: None,
        }
    }
}

/// The grade of one answer (AIPerf's `GradingResult`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Grade {
    pub correct: bool,
    /// The output did not match the expected format (a fallback extraction was used, or
    /// nothing could be extracted). A correct unparsed answer still counts as correct.
    pub unparsed: bool,
    /// 0.0 to 1.0.
    pub confidence: f64,
    /// Why the grader decided so.
    pub reasoning: String,
    /// The answer taken from the model output.
    pub extracted: String,
    /// The expected answer as the grader compared it.
    pub ground_truth: String,
}

impl Grade {
    /// A right-or-wrong grade: confidence 1.0 when `correct`, else 0.0.
    pub(crate) fn scored(
        correct: bool,
        unparsed: bool,
        reasoning: String,
        extracted: String,
        ground_truth: String,
    ) -> Self {
        Self {
            correct,
            unparsed,
            confidence: if correct { 1.0 } else { 0.0 },
            reasoning,
            extracted,
            ground_truth,
        }
    }
}

/// Why a benchmark could not be built from its rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccuracyError {
    /// `--accuracy-tasks` names tasks the benchmark does not have.
    #[error("--accuracy-tasks: {benchmark} has no task {unknown}; available: {available}")]
    UnknownTasks {
        benchmark: String,
        unknown: String,
        available: String,
    },
    /// A row lacks a column or holds a value of the wrong type.
    #[error("{source_name} row {row}: {reason}")]
    BadRow {
        source_name: String,
        row: usize,
        reason: String,
    },
    /// Anything else, as one line.
    #[error("{0}")]
    Invalid(String),
}

/// The registry's built-in implementations (`accuracy_benchmark`, `accuracy_grader` entries of
/// the plugin manifest), by category; a test checks they name every kind.
pub const BUILTINS: [(&str, &str); 20] = [
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::mmlu::Mmlu",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::mmlu_pro::MmluPro",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::aime::Aime",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::hellaswag::Hellaswag",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::bigbench::Bigbench",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::aime24::Aime24",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::aime25::Aime25",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::math_500::Math500",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::gsm8k::Gsm8k",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::gpqa_diamond::GpqaDiamond",
    ),
    (
        "accuracy_benchmark",
        "aiperf_accuracy::benchmarks::lcb_codegeneration::LcbCodegeneration",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::exact_match::ExactMatch",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::math::MathGrader",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::multiple_choice::MultipleChoice",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::code_execution::CodeExecution",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::lighteval::Expr",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::lighteval::Latex",
    ),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::lighteval::Gpqa",
    ),
    ("accuracy_grader", "aiperf_accuracy::graders::gsm8k::Gsm8k"),
    (
        "accuracy_grader",
        "aiperf_accuracy::graders::mmlu_pro::MmluPro",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's implementation is listed under its type's own name, so the manifest and
    /// the code cannot drift apart unnoticed.
    #[test]
    fn builtins_name_every_benchmark_and_grader_once() {
        let names = |cat: &str| -> Vec<&str> {
            BUILTINS
                .iter()
                .filter(|(c, _)| *c == cat)
                .map(|(_, i)| i.rsplit("::").nth(1).unwrap_or(""))
                .collect()
        };
        let benches = names("accuracy_benchmark");
        assert_eq!(benches.len(), BenchmarkKind::ALL.len());
        for k in BenchmarkKind::ALL {
            assert!(benches.contains(&k.name()), "{}", k.name());
        }
        assert_eq!(names("accuracy_grader").len(), GraderKind::ALL.len());
    }
}
