//! `--accuracy-*` resolved: which benchmark, with which grader, shots, chain of thought and
//! system prompt (the benchmark's defaults filling what the user left out, as AIPerf's
//! `load_benchmark_problems` and `AccuracyRecordProcessor` do).

use aiperf_accuracy::{BenchmarkKind, GraderKind, LoadRequest};

use aiperf_dataset::SamplingStrategy;

use super::{invalid, DatasetSampling, LoadMode};
use crate::cli::AccuracyArgs;
use crate::ConfigError;

/// Accuracy mode of a run (`None` on the config when `--accuracy-benchmark` is absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    pub benchmark: BenchmarkKind,
    /// `--accuracy-grader`, else the benchmark's default.
    pub grader: GraderKind,
    /// Tasks, shots and chain of thought with the benchmark's defaults applied.
    pub request: LoadRequest,
    /// `--accuracy-system-prompt`, else the benchmark's default (AIME's), else none.
    pub system_prompt: Option<String>,
    /// `--accuracy-verbose`: one line per graded problem on the console.
    pub verbose: bool,
}

/// AIPerf's bound on `--accuracy-n-shots`.
const MAX_SHOTS: i64 = 32;

pub(super) fn resolve(args: &AccuracyArgs) -> Result<Option<Accuracy>, ConfigError> {
    let Some(name) = &args.accuracy_benchmark else {
        return refuse_orphans(args).map(|()| None);
    };
    let benchmark = BenchmarkKind::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
        invalid(
            "--accuracy-benchmark",
            format!(
                "unknown benchmark '{name}'; choose one of {}",
                BenchmarkKind::names()
            ),
        )
    })?;
    let defaults = benchmark.defaults();
    let grader = match &args.accuracy_grader {
        Some(g) => GraderKind::parse(&g.to_ascii_lowercase()).ok_or_else(|| {
            invalid(
                "--accuracy-grader",
                format!(
                    "unknown grader '{g}'; choose one of {}",
                    GraderKind::names()
                ),
            )
        })?,
        None => defaults.grader,
    };
    let n_shots = match args.accuracy_n_shots {
        Some(n) if !(0..=MAX_SHOTS).contains(&n) => {
            return Err(invalid(
                "--accuracy-n-shots",
                format!("{n} is out of range: 0 (zero-shot) to {MAX_SHOTS}"),
            ))
        }
        Some(n) => n as u32,
        None => defaults.n_shots,
    };
    let enable_cot = match (args.accuracy_enable_cot, args.accuracy_no_enable_cot) {
        (true, _) => true,
        (_, true) => false,
        _ => defaults.enable_cot,
    };
    Ok(Some(Accuracy {
        benchmark,
        grader,
        request: LoadRequest {
            tasks: tasks(&args.accuracy_tasks),
            n_shots,
            enable_cot,
        },
        system_prompt: args
            .accuracy_system_prompt
            .clone()
            .or_else(|| defaults.system_prompt.map(str::to_string)),
        verbose: args.accuracy_verbose,
    }))
}

/// The dataset of an accuracy run: the benchmark's problems, each sent once in order
/// (AIPerf maps a record to its problem by session number, which needs sequential sampling).
/// Another dataset source, another sampler or a fixed schedule is refused by name.
pub(super) fn sequential(
    sampling: DatasetSampling,
    explicit_sampling: bool,
    input_file: bool,
    public_dataset: bool,
    load: &LoadMode,
) -> Result<DatasetSampling, ConfigError> {
    if input_file || public_dataset {
        let flag = if input_file {
            "--input-file"
        } else {
            "--public-dataset"
        };
        return Err(invalid(
            flag,
            "cannot be used with --accuracy-benchmark, whose problems are the dataset",
        ));
    }
    if matches!(load, LoadMode::FixedSchedule { .. }) {
        return Err(invalid(
            "--fixed-schedule",
            "accuracy mode requires sequential request order; fixed-schedule timing is not supported with --accuracy-benchmark",
        ));
    }
    match sampling.strategy {
        SamplingStrategy::Sequential => Ok(sampling),
        _ if explicit_sampling => Err(invalid(
            "--dataset-sampling-strategy",
            format!(
                "accuracy mode requires sequential request order; '{}' sampling is not supported with --accuracy-benchmark",
                sampling.name
            ),
        )),
        _ => Ok(DatasetSampling {
            name: "sequential".into(),
            strategy: SamplingStrategy::Sequential,
        }),
    }
}

/// `--accuracy-tasks a,b --accuracy-tasks c`: every name, trimmed, empty ones dropped;
/// `None` when none is left (every task).
fn tasks(raw: &[String]) -> Option<Vec<String>> {
    let names: Vec<String> = raw
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// AIPerf refuses accuracy options without a benchmark rather than ignoring them silently.
fn refuse_orphans(args: &AccuracyArgs) -> Result<(), ConfigError> {
    let set: Vec<&str> = [
        (!args.accuracy_tasks.is_empty(), "--accuracy-tasks"),
        (args.accuracy_n_shots.is_some(), "--accuracy-n-shots"),
        (
            args.accuracy_enable_cot || args.accuracy_no_enable_cot,
            "--accuracy-enable-cot",
        ),
        (args.accuracy_grader.is_some(), "--accuracy-grader"),
        (
            args.accuracy_system_prompt.is_some(),
            "--accuracy-system-prompt",
        ),
        (args.accuracy_verbose, "--accuracy-verbose"),
    ]
    .into_iter()
    .filter_map(|(is_set, flag)| is_set.then_some(flag))
    .collect();
    match set.first() {
        None => Ok(()),
        Some(first) => Err(invalid(
            first,
            format!(
                "{} set without --accuracy-benchmark, which accuracy mode requires (these flags would otherwise be ignored); benchmarks: {}",
                set.join(", "),
                BenchmarkKind::names()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut AccuracyArgs)) -> AccuracyArgs {
        let mut a = AccuracyArgs::default();
        f(&mut a);
        a
    }

    #[test]
    fn no_benchmark_is_no_accuracy_mode() {
        assert_eq!(resolve(&AccuracyArgs::default()).unwrap(), None);
    }

    #[test]
    fn the_benchmark_defaults_fill_what_is_not_given() {
        let a = resolve(&args(|a| a.accuracy_benchmark = Some("aime".into())))
            .unwrap()
            .unwrap();
        assert_eq!(a.grader, GraderKind::Math);
        assert_eq!((a.request.n_shots, a.request.enable_cot), (8, true));
        assert!(a.system_prompt.unwrap().contains("\\boxed{}"));
        let a = resolve(&args(|a| {
            a.accuracy_benchmark = Some("mmlu".into());
            a.accuracy_n_shots = Some(0);
            a.accuracy_enable_cot = true;
            a.accuracy_grader = Some("exact_match".into());
            a.accuracy_system_prompt = Some("Be brief.".into());
            a.accuracy_tasks = vec!["anatomy, astronomy".into(), "virology".into(), ",".into()];
        }))
        .unwrap()
        .unwrap();
        assert_eq!(a.benchmark, BenchmarkKind::Mmlu);
        assert_eq!(a.grader, GraderKind::ExactMatch);
        assert_eq!((a.request.n_shots, a.request.enable_cot), (0, true));
        assert_eq!(a.system_prompt.as_deref(), Some("Be brief."));
        assert_eq!(
            a.request.tasks.unwrap(),
            ["anatomy", "astronomy", "virology"]
        );
        let a = resolve(&args(|a| {
            a.accuracy_benchmark = Some("MMLU_PRO".into());
            a.accuracy_no_enable_cot = true;
        }))
        .unwrap()
        .unwrap();
        assert_eq!(
            (a.benchmark, a.request.enable_cot),
            (BenchmarkKind::MmluPro, false)
        );
        assert_eq!(a.request.tasks, None);
    }

    /// The problems are the dataset, asked in order, of an endpoint that answers in text.
    #[test]
    fn accuracy_runs_refuse_other_datasets_orders_and_textless_endpoints() {
        use crate::resolve::test_support::resolve as full;
        let err = |extra: &[&str]| {
            let mut a = vec!["-m", "m", "--accuracy-benchmark", "gsm8k"];
            a.extend_from_slice(extra);
            full(&a).unwrap_err().to_string()
        };
        let ok = full(&["-m", "m", "--accuracy-benchmark", "gsm8k"]).unwrap();
        assert_eq!(ok.sampling.strategy, SamplingStrategy::Sequential);
        assert!(err(&["--dataset-sampling-strategy", "shuffle"])
            .starts_with("--dataset-sampling-strategy: accuracy mode requires sequential"));
        assert!(
            err(&["--public-dataset", "sharegpt"]).starts_with("--public-dataset: cannot be used")
        );
        assert!(err(&["--endpoint-type", "embeddings"]).starts_with(
            "--accuracy-benchmark: --endpoint-type embeddings generates no text to grade"
        ));
    }

    #[test]
    fn out_of_range_shots_and_orphan_flags_are_refused_by_name() {
        let e = resolve(&args(|a| {
            a.accuracy_benchmark = Some("mmlu".into());
            a.accuracy_n_shots = Some(33);
        }))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("--accuracy-n-shots: 33 is out of range"),
            "{e}"
        );
        let e = resolve(&args(|a| {
            a.accuracy_n_shots = Some(2);
            a.accuracy_verbose = true;
        }))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("--accuracy-n-shots: --accuracy-n-shots, --accuracy-verbose set without --accuracy-benchmark"),
            "{e}"
        );
    }
}
