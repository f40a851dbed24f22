//! Writes every benchmark's fixture repo as real files, for cross-checking against Python
//! AIPerf (`scripts/accuracy_vs_aiperf.py`), and builds oracle answer files.
//!
//! ```text
//! cargo run -p aiperf-accuracy --example write_fixtures -- DIR
//!     every fixture into DIR/<owner>/<name>/...; rows meant for `.parquet` paths are written
//!     as JSON Lines to `<path>.rows.jsonl` (this crate has no Parquet writer: convert them,
//!     e.g. with pyarrow); `.jsonl`/`.json` rows and text files as they are.
//! cargo run -p aiperf-accuracy --example write_fixtures -- --sources BENCH [TASKS]
//!     prints, as JSON, the splits the benchmark reads (its defaults, TASKS comma-separated):
//!     [{"repo","config","split","data_files"}...]
//! cargo run -p aiperf-accuracy --example write_fixtures -- --oracle BENCH ROWS.json OUT.jsonl [TASKS]
//!     builds the problems from ROWS.json (one list of rows per source, in `--sources` order),
//!     writes the 0.5 oracle (`{"key","reply"}` lines, for `aiperf-mock-server
//!     --oracle-answers`) to OUT.jsonl and prints, as JSON, each problem's
//!     {"key","task","correct","ground_truth"} in order.
//! ```
//! `--sources` and `--oracle` take `ACCX_N_SHOTS=N` / `ACCX_COT=1|0` from the environment to
//! mirror `--accuracy-n-shots` / `--accuracy-enable-cot`.

use std::path::Path;

use aiperf_accuracy::benchmarks::FixtureFile;
use aiperf_accuracy::{oracle, BenchmarkKind, LoadRequest, Row};
use serde_json::{json, Value};

/// The benchmark's defaults, overridden by `ACCX_N_SHOTS` (a number) and `ACCX_COT`
/// (`1`/`0`) when set, as `--accuracy-n-shots` / `--accuracy-enable-cot` would.
fn request(kind: BenchmarkKind, tasks: Option<&String>) -> LoadRequest {
    let d = kind.defaults();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    LoadRequest {
        tasks: tasks.filter(|t| !t.is_empty()).map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        }),
        n_shots: env("ACCX_N_SHOTS").map_or(d.n_shots, |v| v.parse().expect("ACCX_N_SHOTS")),
        enable_cot: env("ACCX_COT").map_or(d.enable_cot, |v| v == "1"),
    }
}

fn kind_of(name: &str) -> BenchmarkKind {
    BenchmarkKind::parse(name).unwrap_or_else(|| {
        eprintln!(
            "unknown benchmark {name}; one of {}",
            BenchmarkKind::names()
        );
        std::process::exit(2)
    })
}

fn jsonl(rows: &[Row]) -> String {
    let mut text = String::new();
    for r in rows {
        text.push_str(&serde_json::to_string(r).unwrap());
        text.push('\n');
    }
    text
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn write_fixtures(dir: &Path) {
    for kind in BenchmarkKind::ALL {
        for fixture in kind.benchmark().fixture() {
            let root = dir.join(fixture.repo);
            for file in &fixture.files {
                match file {
                    FixtureFile::Text { path, text } => write(&root.join(path), text),
                    FixtureFile::Rows { path, rows } if path.ends_with(".parquet") => {
                        write(&root.join(format!("{path}.rows.jsonl")), &jsonl(rows))
                    }
                    FixtureFile::Rows { path, rows } if path.ends_with(".json") => write(
                        &root.join(path),
                        &serde_json::to_string(&Value::from(
                            rows.iter().cloned().map(Value::Object).collect::<Vec<_>>(),
                        ))
                        .unwrap(),
                    ),
                    FixtureFile::Rows { path, rows } => write(&root.join(path), &jsonl(rows)),
                }
            }
            println!("{} -> {}", kind.name(), root.display());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--sources") if args.len() >= 2 => {
            let kind = kind_of(&args[1]);
            let sources = kind
                .benchmark()
                .sources(&request(kind, args.get(2)))
                .unwrap_or_else(|e| panic!("{e}"));
            let out: Vec<Value> = sources
                .iter()
                .map(|s| {
                    json!({"repo": s.repo, "config": s.config, "split": s.split,
                           "data_files": s.data_files})
                })
                .collect();
            println!("{}", Value::from(out));
        }
        Some("--oracle") if args.len() >= 4 => {
            let kind = kind_of(&args[1]);
            let rows: Vec<Vec<Row>> =
                serde_json::from_str(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
            let req = request(kind, args.get(4));
            let problems = kind
                .benchmark()
                .build(&req, &rows)
                .unwrap_or_else(|e| panic!("{e}"));
            let (answers, _) = oracle::answers(kind, &problems, 0.5);
            let mut file = String::new();
            let mut listing = Vec::new();
            for (a, p) in answers.iter().zip(&problems) {
                file.push_str(&json!({"key": a.key, "reply": a.reply}).to_string());
                file.push('\n');
                listing.push(json!({"key": a.key, "task": p.task, "correct": a.correct,
                                    "ground_truth": p.ground_truth}));
            }
            write(Path::new(&args[3]), &file);
            println!("{}", Value::from(listing));
        }
        Some(dir) if !dir.starts_with("--") => write_fixtures(Path::new(dir)),
        _ => {
            eprintln!(
                "usage: write_fixtures DIR | --sources BENCH [TASKS] | --oracle BENCH ROWS.json OUT.jsonl [TASKS]"
            );
            std::process::exit(2)
        }
    }
}
