//! The eleven benchmarks of AIPerf 0.13 (`accuracy_benchmark` plugins): where each one's rows
//! live on the Hub, how its prompts are built, and its defaults (grader, shots, chain of
//! thought, system prompt).

use crate::{AccuracyError, GraderKind, Problem, Row};

pub mod aime;
pub mod aime24;
pub mod aime25;
pub mod bigbench;
pub mod gpqa_diamond;
pub mod gsm8k;
pub mod hellaswag;
pub mod lcb_codegeneration;
pub mod math_500;
pub mod mmlu;
pub mod mmlu_pro;

/// `--accuracy-benchmark` values, in AIPerf's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BenchmarkKind {
    Mmlu,
    MmluPro,
    Aime,
    Hellaswag,
    Bigbench,
    Aime24,
    Aime25,
    Math500,
    Gsm8k,
    GpqaDiamond,
    LcbCodegeneration,
}

/// A benchmark's defaults (AIPerf's plugin metadata).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Defaults {
    pub grader: GraderKind,
    pub n_shots: u32,
    pub enable_cot: bool,
    pub system_prompt: Option<&'static str>,
}

impl BenchmarkKind {
    pub const ALL: [BenchmarkKind; 11] = [
        Self::Mmlu,
        Self::MmluPro,
        Self::Aime,
        Self::Hellaswag,
        Self::Bigbench,
        Self::Aime24,
        Self::Aime25,
        Self::Math500,
        Self::Gsm8k,
        Self::GpqaDiamond,
        Self::LcbCodegeneration,
    ];

    /// The flag value (`mmlu_pro`, `gpqa_diamond`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Mmlu => "mmlu",
            Self::MmluPro => "mmlu_pro",
            Self::Aime => "aime",
            Self::Hellaswag => "hellaswag",
            Self::Bigbench => "bigbench",
            Self::Aime24 => "aime24",
            Self::Aime25 => "aime25",
            Self::Math500 => "math_500",
            Self::Gsm8k => "gsm8k",
            Self::GpqaDiamond => "gpqa_diamond",
            Self::LcbCodegeneration => "lcb_codegeneration",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every flag value, comma-separated (for error messages).
    pub fn names() -> String {
        Self::ALL.map(|k| k.name()).join(", ")
    }

    /// AIPerf's `default_grader`, `default_n_shots`, `default_enable_cot`,
    /// `default_system_prompt`.
    pub fn defaults(self) -> Defaults {
        let d = |grader, n_shots, enable_cot| Defaults {
            grader,
            n_shots,
            enable_cot,
            system_prompt: None,
        };
        match self {
            Self::Mmlu => d(GraderKind::MultipleChoice, 5, false),
            Self::MmluPro => d(GraderKind::MmluPro, 5, true),
            Self::Aime => Defaults {
                system_prompt: Some(
                    "Please reason step by step, and put your final answer within \\boxed{}.",
                ),
                ..d(GraderKind::Math, 8, true)
            },
            Self::Hellaswag => d(GraderKind::ExactMatch, 10, false),
            Self::Bigbench => d(GraderKind::ExactMatch, 3, true),
            Self::Aime24 | Self::Aime25 => d(GraderKind::LightevalExpr, 0, false),
            Self::Math500 => d(GraderKind::LightevalLatex, 0, false),
            Self::Gsm8k => d(GraderKind::LightevalGsm8k, 0, false),
            Self::GpqaDiamond => d(GraderKind::LightevalGpqa, 0, false),
            Self::LcbCodegeneration => d(GraderKind::CodeExecution, 0, false),
        }
    }

    /// The benchmark's implementation.
    pub fn benchmark(self) -> &'static dyn Benchmark {
        match self {
            Self::Mmlu => &mmlu::Mmlu,
            Self::MmluPro => &mmlu_pro::MmluPro,
            Self::Aime => &aime::Aime,
            Self::Hellaswag => &hellaswag::Hellaswag,
            Self::Bigbench => &bigbench::Bigbench,
            Self::Aime24 => &aime24::Aime24,
            Self::Aime25 => &aime25::Aime25,
            Self::Math500 => &math_500::Math500,
            Self::Gsm8k => &gsm8k::Gsm8k,
            Self::GpqaDiamond => &gpqa_diamond::GpqaDiamond,
            Self::LcbCodegeneration => &lcb_codegeneration::LcbCodegeneration,
        }
    }
}

/// One split of a Hub dataset, as `datasets.load_dataset(repo, config, split=split)` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `openai/gsm8k`.
    pub repo: &'static str,
    /// The config (subset), `None` for the repo's default.
    pub config: Option<String>,
    /// `test`, `train`, `validation`, `dev`...
    pub split: String,
    /// Explicit data files (globs relative to the repo root) when the benchmark names them
    /// itself (`load_dataset(..., data_files=...)`); `None`: the `datasets` library's choice
    /// from the README's configs block or the file names.
    pub data_files: Option<Vec<String>>,
}

impl Source {
    pub fn new(repo: &'static str, config: Option<&str>, split: &str) -> Self {
        Self {
            repo,
            config: config.map(str::to_string),
            split: split.to_string(),
            data_files: None,
        }
    }

    /// `repo[config]:split`, for messages.
    pub fn label(&self) -> String {
        match &self.config {
            Some(c) => format!("{}[{c}]:{}", self.repo, self.split),
            None => format!("{}:{}", self.repo, self.split),
        }
    }
}

/// What the user asked for, with the benchmark's defaults already applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadRequest {
    /// `--accuracy-tasks`; `None`: every task.
    pub tasks: Option<Vec<String>>,
    pub n_shots: u32,
    pub enable_cot: bool,
}

/// A file of a benchmark's fixture repo: its path in the repo and its rows (written as Parquet
/// or JSON Lines by the path's extension), or its raw text (a README).
#[derive(Debug, Clone, PartialEq)]
pub enum FixtureFile {
    Rows { path: String, rows: Vec<Row> },
    Text { path: String, text: String },
}

impl FixtureFile {
    /// The repo's `README.md`.
    pub(crate) fn readme(text: impl Into<String>) -> Self {
        Self::Text {
            path: "README.md".into(),
            text: text.into(),
        }
    }

    /// The file `path`, holding `rows`.
    pub(crate) fn rows(path: impl Into<String>, rows: Vec<Row>) -> Self {
        Self::Rows {
            path: path.into(),
            rows,
        }
    }
}

/// A small copy of a benchmark's Hub repo in its real layout, for tests and the mock server's
/// oracle mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    pub repo: &'static str,
    pub files: Vec<FixtureFile>,
}

/// One benchmark: its Hub sources, how rows become problems, and (for the oracle mock) what a
/// right and a wrong answer look like.
pub trait Benchmark: Send + Sync {
    fn kind(&self) -> BenchmarkKind;

    /// The splits to read for `req`, in the order `build` takes their rows.
    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError>;

    /// Problems in AIPerf's order from each source's rows (`rows[i]` are `sources(req)[i]`'s).
    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError>;

    /// A model answer the benchmark's default grader scores as correct (`correct`) or as
    /// wrong (never accidentally right) for `problem`.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String;

    /// Small copies of the benchmark's repos in their real layout (README `configs` block,
    /// file names as on the Hub), with at least two tasks where the benchmark has tasks.
    fn fixture(&self) -> Vec<Fixture>;
}

/// Test helpers shared by the benchmarks' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Benchmark, Fixture, FixtureFile, LoadRequest, Source};
    use crate::{AccuracyError, ChatMessage, Problem, Row};

    /// The fixture rows of `source`: the file under `<config>/` (or anywhere, without a
    /// config) whose name starts with `<split>-`.
    pub(crate) fn rows_for(bench: &dyn Benchmark, source: &Source) -> Vec<Row> {
        let fixtures = bench.fixture();
        let fixture = fixtures.iter().find(|f| f.repo == source.repo);
        let files = fixture.map(|f| f.files.as_slice()).unwrap_or_default();
        files
            .iter()
            .find_map(|file| match file {
                FixtureFile::Rows { path, rows } => {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    let in_config = source
                        .config
                        .as_ref()
                        .is_none_or(|c| path.starts_with(&format!("{c}/")));
                    (in_config && name.starts_with(&format!("{}-", source.split)))
                        .then(|| rows.clone())
                }
                FixtureFile::Text { .. } => None,
            })
            .unwrap_or_else(|| panic!("fixture has no rows for {}", source.label()))
    }

    /// `bench` built from its own fixture for `req`.
    pub(crate) fn build(bench: &dyn Benchmark, req: &LoadRequest) -> Vec<Problem> {
        let sources = bench.sources(req).expect("sources");
        let rows: Vec<Vec<Row>> = sources.iter().map(|s| rows_for(bench, s)).collect();
        bench.build(req, &rows).expect("build")
    }

    pub(crate) fn req(tasks: Option<&[&str]>, n_shots: u32, enable_cot: bool) -> LoadRequest {
        LoadRequest {
            tasks: tasks.map(|t| t.iter().map(|s| s.to_string()).collect()),
            n_shots,
            enable_cot,
        }
    }

    /// The README text of the fixture.
    pub(crate) fn readme(bench: &dyn Benchmark) -> String {
        bench
            .fixture()
            .iter()
            .flat_map(|f| f.files.iter())
            .find_map(|file| match file {
                FixtureFile::Text { path, text } if path == "README.md" => Some(text.clone()),
                _ => None,
            })
            .expect("README.md")
    }

    /// Every file path of the fixture.
    pub(crate) fn paths(bench: &dyn Benchmark) -> Vec<String> {
        bench
            .fixture()
            .iter()
            .flat_map(|f| f.files.iter())
            .map(|file| match file {
                FixtureFile::Rows { path, .. } | FixtureFile::Text { path, .. } => path.clone(),
            })
            .collect()
    }

    /// A zero-shot request without chain of thought (what AIPerf uses for the lighteval
    /// benchmarks, which ignore the options anyway).
    pub(crate) fn zero_shot_req(tasks: Option<&[&str]>) -> LoadRequest {
        req(tasks, 0, false)
    }

    /// `bench` refuses `req` for naming unknown tasks: (those tasks, the available ones).
    #[track_caller]
    pub(crate) fn unknown_tasks(bench: &dyn Benchmark, req: &LoadRequest) -> (String, String) {
        match bench.sources(req) {
            Err(AccuracyError::UnknownTasks {
                unknown, available, ..
            }) => (unknown, available),
            other => panic!("expected UnknownTasks, got {other:?}"),
        }
    }

    /// `bench` refuses `req` as invalid.
    #[track_caller]
    pub(crate) fn assert_invalid(bench: &dyn Benchmark, req: &LoadRequest) {
        assert!(matches!(bench.sources(req), Err(AccuracyError::Invalid(_))));
    }

    /// `bench`'s problems from one source's `rows`, zero-shot, asking for `tasks`.
    pub(crate) fn zero_shot_problems(
        bench: &dyn Benchmark,
        tasks: Option<&[&str]>,
        rows: Vec<Row>,
    ) -> Vec<Problem> {
        bench.build(&zero_shot_req(tasks), &[rows]).unwrap()
    }

    /// `bench` reads `expected` alone, whether or not `tasks` are asked for.
    #[track_caller]
    pub(crate) fn assert_sources_ignore_tasks(
        bench: &dyn Benchmark,
        expected: Source,
        tasks: &[&str],
    ) {
        let expected = vec![expected];
        assert_eq!(bench.sources(&zero_shot_req(None)).unwrap(), expected);
        assert_eq!(
            bench.sources(&zero_shot_req(Some(tasks))).unwrap(),
            expected
        );
    }

    /// `p` is `prompt`, sent as the only user message, with no stop sequences.
    #[track_caller]
    pub(crate) fn assert_user_problem(
        p: &Problem,
        prompt: &str,
        ground_truth: &str,
        task: &str,
        generation_size: u32,
    ) {
        assert_eq!(p.prompt, prompt);
        assert_eq!(p.messages, Some(vec![ChatMessage::user(prompt)]));
        assert_eq!(p.ground_truth, ground_truth);
        assert_eq!(p.task, task);
        assert_eq!(p.generation_size, Some(generation_size));
        assert_eq!(p.stop, None);
    }

    /// The fixture's first repo is `repo`, and its second file `path`, holding `n_rows` rows.
    #[track_caller]
    pub(crate) fn assert_rows_file(fixture: &[Fixture], repo: &str, path: &str, n_rows: usize) {
        assert_eq!(fixture[0].repo, repo);
        let FixtureFile::Rows { path: p, rows } = &fixture[0].files[1] else {
            panic!("expected the rows file {path} second");
        };
        assert_eq!((p.as_str(), rows.len()), (path, n_rows));
    }
}
