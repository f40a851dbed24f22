//! `--accuracy-benchmark` in the engine: the benchmark's rows fetched from the Hub (or a local
//! directory named like the repo, as `datasets.load_dataset` prefers one), its problems turned
//! into single-turn conversations as AIPerf's `AccuracyDatasetLoader` does, and a grading
//! thread that scores every profiling answer against its problem and streams
//! `accuracy_export.jsonl`. Graders never run on the request path or the record processor:
//! a slow one (code execution) only delays the run's end.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use aiperf_accuracy::summary::AccuracySummary;
use aiperf_accuracy::{GraderKind, Problem, Source};
use aiperf_config::ProfileConfig;
use aiperf_core::{Conversation, Turn};
use aiperf_dataset::public::{self, rows, SplitRequest};
use aiperf_export::accuracy::{AccuracyLine, AccuracyWriter};
use aiperf_hub::HubConfig;
use anyhow::anyhow;
use serde_json::{Map, Value};

/// AIPerf's `max_tokens` when a benchmark gives no `generation_size`.
const DEFAULT_GENERATION_SIZE: u32 = 100;

/// The benchmark's problems, read before the dataset is prepared (blocking: call it from a
/// blocking thread). `None` without `--accuracy-benchmark`.
pub fn load(cfg: &ProfileConfig, hub: &HubConfig) -> anyhow::Result<Option<Vec<Problem>>> {
    let Some(acc) = &cfg.accuracy else {
        return Ok(None);
    };
    let name = acc.benchmark.name();
    let flag = |e: &dyn std::fmt::Display| anyhow!("--accuracy-benchmark {name}: {e}");
    let bench = acc.benchmark.benchmark();
    let sources = bench.sources(&acc.request).map_err(|e| flag(&e))?;
    let started = std::time::Instant::now();
    let mut rows = Vec::with_capacity(sources.len());
    for source in &sources {
        let files = split_files(hub, source)
            .map_err(|e| anyhow!("--accuracy-benchmark {name}: {}: {e}", source.label()))?;
        rows.push(rows::all_rows(&files).map_err(|e| flag(&e))?);
    }
    let problems = bench.build(&acc.request, &rows).map_err(|e| flag(&e))?;
    if problems.is_empty() {
        return Err(anyhow!(
            "--accuracy-benchmark {name}: the benchmark has no problems{}; omit --accuracy-tasks to evaluate every task",
            acc.request
                .tasks
                .as_ref()
                .map(|t| format!(" for --accuracy-tasks {}", t.join(",")))
                .unwrap_or_default()
        ));
    }
    coverage_notice(cfg, problems.len());
    tracing::info!(
        "accuracy benchmark {name}: {} problems from {} split(s) in {:.1} s (grader {})",
        problems.len(),
        sources.len(),
        started.elapsed().as_secs_f64(),
        acc.grader.name()
    );
    Ok(Some(problems))
}

/// Says when the run grades only some problems, or some more than once: requests go to the
/// problems in order and wrap around (AIPerf's behaviour, its default of 10 requests included).
fn coverage_notice(cfg: &ProfileConfig, problems: usize) {
    let count = match (cfg.request_count, cfg.benchmark_duration_s) {
        (Some(n), _) => n,
        (None, None) => aiperf_timing::DEFAULT_REQUEST_COUNT,
        (None, Some(_)) => return,
    };
    let problems = problems as u64;
    if count < problems {
        tracing::warn!(
            "accuracy: {count} requests grade the first {count} of {problems} problems; pass --request-count {problems} to grade each once"
        );
    } else if count > problems {
        tracing::info!(
            "accuracy: {count} requests for {problems} problems: problems are asked again in order (each answer is graded)"
        );
    }
}

/// A split's files: from `./<repo>` when that directory exists (as `datasets` prefers a local
/// directory over the Hub), else from the Hub cache, downloading what is missing.
fn split_files(hub: &HubConfig, source: &Source) -> anyhow::Result<Vec<PathBuf>> {
    let local = Path::new(source.repo);
    if local.is_dir() {
        return local_split(local, source);
    }
    let req = SplitRequest {
        repo: source.repo,
        revision: "main",
        subset: source.config.as_deref(),
        split: &source.split,
        data_files: source.data_files.as_deref(),
        limit: None,
    };
    Ok(public::fetch_split(hub, &req)?.files)
}

/// A split chosen from a local copy of a repo by the same rules as on the Hub.
fn local_split(dir: &Path, source: &Source) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    list_files(dir, dir, &mut files)?;
    files.sort();
    let chosen = match &source.data_files {
        Some(globs) => files
            .iter()
            .filter(|f| globs.iter().any(|g| public::files::glob_match(g, f)))
            .cloned()
            .collect(),
        None => {
            let readme = std::fs::read_to_string(dir.join("README.md")).ok();
            public::files::select(
                &files,
                readme.as_deref(),
                source.config.as_deref(),
                &source.split,
            )
            .map_err(|e| anyhow!("{}: {e}", dir.display()))?
        }
    };
    if chosen.is_empty() {
        return Err(anyhow!("{}: no data files for this split", dir.display()));
    }
    Ok(chosen.iter().map(|f| dir.join(f)).collect())
}

/// Every file under `dir`, as `/`-separated paths relative to `root` (hidden entries skipped).
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| anyhow!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// The problems as single-turn conversations (AIPerf's `_convert_to_conversations`): the
/// benchmark's messages with the system prompt first, `max_tokens` from the problem's
/// generation size, its stop sequences as `stop`, and the flat prompt (system prompt, a blank
/// line, the prompt) for endpoints without messages.
pub fn conversations(cfg: &ProfileConfig, problems: &[Problem]) -> Vec<Conversation> {
    let system = cfg
        .accuracy
        .as_ref()
        .and_then(|a| a.system_prompt.as_deref())
        .filter(|s| !s.is_empty());
    problems
        .iter()
        .enumerate()
        .map(|(i, p)| Conversation::single(format!("session_{i:06}"), turn(p, system)))
        .collect()
}

fn turn(p: &Problem, system: Option<&str>) -> Turn {
    let mut messages: Vec<Value> = Vec::new();
    if let Some(s) = system {
        messages.push(message("system", s));
    }
    match &p.messages {
        Some(m) => messages.extend(m.iter().map(|m| message(&m.role, &m.content))),
        None => messages.push(message("user", &p.prompt)),
    }
    let extra = p.stop.as_ref().filter(|s| !s.is_empty()).map(|stop| {
        let mut m = Map::new();
        m.insert("stop".into(), Value::from(stop.clone()));
        m
    });
    Turn {
        texts: vec![match system {
            Some(s) => format!("{s}\n\n{}", p.prompt),
            None => p.prompt.clone(),
        }],
        messages: Some(messages),
        max_tokens: Some(p.generation_size.unwrap_or(DEFAULT_GENERATION_SIZE)),
        extra,
        ..Default::default()
    }
}

fn message(role: &str, content: &str) -> Value {
    let mut m = Map::new();
    m.insert("role".into(), Value::from(role));
    m.insert("content".into(), Value::from(content));
    Value::Object(m)
}

/// What grading needs of each conversation: its ground truth and task.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    pub grader: GraderKind,
    /// By conversation index.
    pub keys: Vec<AnswerKey>,
    /// `--accuracy-verbose`: a log line per graded answer.
    pub verbose: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerKey {
    pub ground_truth: String,
    pub task: String,
}

impl Answers {
    pub fn new(cfg: &ProfileConfig, problems: &[Problem]) -> Option<Self> {
        let acc = cfg.accuracy.as_ref()?;
        Some(Self {
            grader: acc.grader,
            keys: problems
                .iter()
                .map(|p| AnswerKey {
                    ground_truth: p.ground_truth.clone(),
                    task: p.task.clone(),
                })
                .collect(),
            verbose: acc.verbose,
        })
    }
}

/// One profiling answer to grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub conversation: usize,
    pub session_num: u64,
    pub conversation_id: String,
    pub x_request_id: String,
    /// When the request ended (wall clock, ns).
    pub end_wall_ns: u64,
    /// The answer channel (content), or the reasoning when no content came; empty for a
    /// failed request (graded as no answer, as AIPerf does).
    pub output: String,
    /// The reasoning channel, when the model used one.
    pub thinking: Option<String>,
}

/// What the grading thread hands back.
#[derive(Debug, Default)]
pub struct Graded {
    pub summary: AccuracySummary,
    /// Why `accuracy_export.jsonl` is incomplete or missing.
    pub write_error: Option<String>,
}

/// The grading thread: jobs in, one summary out when every sender is gone.
pub struct Grading {
    tx: mpsc::Sender<Job>,
    handle: std::thread::JoinHandle<Graded>,
}

impl Grading {
    /// Starts the thread; `jsonl` is `accuracy_export.jsonl`'s path (`None`: not written).
    /// Once `stop` aborts (a second Ctrl-C, or the drain time after the first ran out), answers
    /// still queued are counted, not graded: a slow grader (code execution) never holds an
    /// interrupted run. Answers that finish while in-flight requests drain are still graded.
    pub fn spawn(
        answers: Arc<Answers>,
        jsonl: Option<PathBuf>,
        stop: Arc<crate::stop::StopSignal>,
    ) -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("accuracy-grader".into())
            .spawn(move || grade_all(&answers, jsonl.as_deref(), rx, &stop))
            .map_err(|e| anyhow!("cannot start the accuracy grader thread: {e}"))?;
        Ok(Self { tx, handle })
    }

    pub fn sender(&self) -> mpsc::Sender<Job> {
        self.tx.clone()
    }

    /// Waits for every job sent so far (senders must be dropped) and returns the summary.
    pub fn finish(self) -> Graded {
        drop(self.tx);
        self.handle.join().unwrap_or_else(|_| Graded {
            write_error: Some("the accuracy grader thread panicked".into()),
            ..Default::default()
        })
    }
}

fn grade_all(
    answers: &Answers,
    jsonl: Option<&Path>,
    rx: mpsc::Receiver<Job>,
    stop: &crate::stop::StopSignal,
) -> Graded {
    let grader = answers.grader.grader();
    let grader_name = answers.grader.name();
    let mut out = Graded {
        summary: AccuracySummary::new(grader_name),
        write_error: None,
    };
    let mut writer = match jsonl.map(AccuracyWriter::create).transpose() {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("{e}; no accuracy_export.jsonl is written");
            out.write_error = Some(e.to_string());
            None
        }
    };
    let mut skipped = 0u64;
    for job in rx {
        if stop.aborted() {
            skipped += 1;
            continue;
        }
        // Sequential sampling maps sessions onto problems in order; the credit names the one.
        let Some(key) = answers.keys.get(job.conversation) else {
            continue;
        };
        let grade = grader.grade(&job.output, &key.ground_truth);
        out.summary
            .add(Some(&key.task), grade.correct, grade.unparsed);
        if answers.verbose {
            tracing::info!(
                "[accuracy] session={} correct={} unparsed={} reason={:?} extracted={:?} response_len={}",
                job.session_num,
                grade.correct,
                grade.unparsed,
                grade.reasoning,
                grade.extracted.chars().take(120).collect::<String>(),
                job.output.len()
            );
        }
        if let Some(w) = writer.as_mut() {
            let line = AccuracyLine {
                session_num: job.session_num,
                conversation_id: Some(&job.conversation_id),
                x_request_id: Some(&job.x_request_id),
                worker_id: "worker_0",
                benchmark_phase: "profiling",
                timestamp_ns: job.end_wall_ns,
                task: Some(&key.task),
                grader_name,
                passed: grade.correct,
                unparsed: grade.unparsed,
                confidence: grade.confidence,
                expected: &grade.ground_truth,
                actual: &grade.extracted,
                explanation: &grade.reasoning,
                model_output: &job.output,
                model_thinking: job.thinking.as_deref(),
            };
            if let Err(e) = w.write(&line) {
                tracing::warn!(
                    "{e}; accuracy_export.jsonl keeps its first {} lines, grading goes on",
                    w.lines()
                );
                out.write_error = Some(e.to_string());
                writer = None;
            }
        }
    }
    if let Some(mut w) = writer {
        if let Err(e) = w.flush() {
            out.write_error = Some(e.to_string());
        }
    }
    if skipped > 0 {
        tracing::warn!(
            "accuracy: the run was interrupted; {skipped} answer(s) were not graded and the accuracy covers the {} graded",
            out.summary.overall.total
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_accuracy::ChatMessage;

    fn problem(task: &str, truth: &str) -> Problem {
        Problem {
            prompt: format!("Question for {task}"),
            ground_truth: truth.into(),
            task: task.into(),
            messages: Some(vec![
                ChatMessage::user("shot"),
                ChatMessage::assistant("A"),
                ChatMessage::user(format!("Question for {task}")),
            ]),
            generation_size: Some(5),
            stop: Some(vec!["\n".into()]),
        }
    }

    #[test]
    fn a_turn_carries_the_system_prompt_first_the_stop_and_the_flat_prompt() {
        let t = turn(&problem("anatomy", "B"), Some("Be brief."));
        let m = t.messages.unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(
            m[0],
            serde_json::json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(
            m[2],
            serde_json::json!({"role": "assistant", "content": "A"})
        );
        assert_eq!(t.texts, ["Be brief.\n\nQuestion for anatomy"]);
        assert_eq!(t.max_tokens, Some(5));
        assert_eq!(t.extra.unwrap()["stop"], serde_json::json!(["\n"]));
        let plain = Problem {
            messages: None,
            generation_size: None,
            stop: Some(Vec::new()),
            ..problem("x", "1")
        };
        let t = turn(&plain, None);
        assert_eq!(
            t.messages.unwrap(),
            [serde_json::json!({"role": "user", "content": "Question for x"})]
        );
        assert_eq!(t.max_tokens, Some(DEFAULT_GENERATION_SIZE));
        assert_eq!(t.extra, None);
    }

    /// A local copy of a repo is read by the Hub's rules: the README's configs block picks the
    /// split's files, explicit data files pick by glob, and a missing split is an error naming
    /// the directory.
    #[test]
    fn a_local_repo_copy_is_read_like_the_hub() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("openai/gsm8k");
        std::fs::create_dir_all(repo.join("main")).unwrap();
        std::fs::write(
            repo.join("README.md"),
            "---\nconfigs:\n- config_name: main\n  data_files:\n  - split: test\n    path: main/test-*\n  - split: train\n    path: main/train-*\n---\n",
        )
        .unwrap();
        std::fs::write(repo.join("main/test-00000.jsonl"), "{\"question\":\"q\"}\n").unwrap();
        std::fs::write(
            repo.join("main/train-00000.jsonl"),
            "{\"question\":\"t\"}\n",
        )
        .unwrap();
        std::fs::write(repo.join(".hidden"), "x").unwrap();
        let source = Source::new("openai/gsm8k", Some("main"), "test");
        let files = local_split(&repo, &source).unwrap();
        assert_eq!(files, [repo.join("main/test-00000.jsonl")]);
        let rows = rows::all_rows(&files).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["question"], "q");
        let explicit = Source {
            data_files: Some(vec!["main/train-*".into()]),
            ..source.clone()
        };
        assert_eq!(
            local_split(&repo, &explicit).unwrap(),
            [repo.join("main/train-00000.jsonl")]
        );
        let missing = Source::new("openai/gsm8k", Some("main"), "validation");
        let e = local_split(&repo, &missing).unwrap_err().to_string();
        assert!(e.contains("gsm8k") && e.contains("validation"), "{e}");
    }

    #[test]
    fn grading_counts_per_task_and_writes_one_line_per_answer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accuracy_export.jsonl");
        let answers = Arc::new(Answers {
            grader: GraderKind::ExactMatch,
            keys: vec![
                AnswerKey {
                    ground_truth: "B".into(),
                    task: "anatomy".into(),
                },
                AnswerKey {
                    ground_truth: "C".into(),
                    task: "virology".into(),
                },
            ],
            verbose: false,
        });
        let g = Grading::spawn(answers, Some(path.clone()), Default::default()).unwrap();
        let tx = g.sender();
        let job = |conversation: usize, session_num: u64, output: &str| Job {
            conversation,
            session_num,
            conversation_id: format!("session_{conversation:06}"),
            x_request_id: format!("r{session_num}"),
            end_wall_ns: 1,
            output: output.into(),
            thinking: None,
        };
        tx.send(job(0, 0, " B ")).unwrap();
        tx.send(job(1, 1, "D")).unwrap();
        tx.send(job(0, 2, "")).unwrap();
        tx.send(job(9, 3, "B")).unwrap(); // no such problem: ignored
        drop(tx);
        let graded = g.finish();
        assert_eq!(graded.write_error, None);
        let s = graded.summary;
        assert_eq!(
            (s.overall.total, s.overall.passed, s.overall.unparsed),
            (3, 1, 1)
        );
        assert_eq!(s.per_task["anatomy"].passed, 1);
        assert_eq!(s.per_task["virology"].total, 1);
        let lines: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["passed"], true);
        assert_eq!(lines[0]["grader_name"], "exact_match");
        assert_eq!(lines[1]["expected"], "C");
        assert_eq!(lines[2]["unparsed"], true);
    }

    #[test]
    fn after_a_stop_queued_answers_are_counted_not_graded() {
        let answers = Arc::new(Answers {
            grader: GraderKind::ExactMatch,
            keys: vec![AnswerKey {
                ground_truth: "B".into(),
                task: "t".into(),
            }],
            verbose: false,
        });
        let stop = Arc::new(crate::stop::StopSignal::default());
        stop.second();
        let g = Grading::spawn(answers, None, stop).unwrap();
        g.sender()
            .send(Job {
                conversation: 0,
                session_num: 0,
                conversation_id: "session_000000".into(),
                x_request_id: "r".into(),
                end_wall_ns: 0,
                output: "B".into(),
                thinking: None,
            })
            .unwrap();
        assert_eq!(g.finish().summary.overall.total, 0);
    }
}
