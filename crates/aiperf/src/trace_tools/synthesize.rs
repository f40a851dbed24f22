//! `aiperf synthesize agentic-code`: draws the sessions ([`super::agentic`]) and writes AIPerf's
//! run directory `<output>/<config>_<N>s_seed<S>_<UTC time>/` with `dataset.jsonl` (a Mooncake
//! trace `aiperf profile --custom-dataset-type mooncake_trace` replays), `manifest.json` (seed,
//! session count and the full configuration, reusable as `--config`) and `quality.json`
//! (observed against target distributions), and `comparison.txt` (the same as a table).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aiperf_metrics::stats::Stats;
use serde_json::{json, Map, Value};

use super::agentic::{AgenticConfig, Session, Synthesizer};
use super::{comparison, validate};

/// What `aiperf synthesize` was asked for.
pub struct Request<'a> {
    pub num_sessions: u64,
    pub output: &'a Path,
    pub config: Option<&'a Path>,
    pub seed: u64,
    pub max_isl: Option<u64>,
    pub max_osl: Option<u64>,
}

/// The configuration and its name in the run directory: `default` without `--config`, the
/// bundled name, or the file's stem.
fn load_config(config: Option<&Path>) -> Result<(AgenticConfig, String), String> {
    let Some(path) = config else {
        return Ok((AgenticConfig::default(), "default".into()));
    };
    let text = if path.as_os_str() == "default" && !path.is_file() {
        AgenticConfig::BUNDLED_DEFAULT.to_string()
    } else {
        aiperf_core::textfile::read_to_string(path)
            .map_err(|e| format!("--config {}: {e}", path.display()))?
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("--config {}: {e}", path.display()))?;
    let cfg = AgenticConfig::from_json(&value)
        .map_err(|e| format!("--config {}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map_or("config".into(), |s| s.to_string_lossy().into_owned());
    Ok((cfg, name))
}

/// `YYYYmmdd-HHMMSS` in UTC, as AIPerf stamps run directories.
fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Python's `round(x, 1)` for the times written.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `dataset.jsonl`: one row per turn. `input_length` is the turn's new tokens and `hash_ids`
/// holds exactly `ceil(new_tokens / block_size)` ids: a first turn's come from the prefix
/// layout (shared L1 and L1.5, then its own), later turns take fresh ids from one cursor over
/// the whole dataset. First turns carry `timestamp` and `group_id` (and `is_restart` for a
/// continuation), later ones `delay`.
pub fn dataset_lines(sessions: &[Session], synth: &Synthesizer, block_size: u64) -> Vec<String> {
    let mut next_id = 0u64;
    let mut lines = Vec::new();
    for s in sessions {
        for (i, t) in s.turns.iter().enumerate() {
            let blocks = t.new_tokens.div_ceil(block_size);
            let ids: Vec<u64> = if i == 0 {
                let ids = synth
                    .allocator()
                    .hash_ids(s.session_index, s.group_id, t.input_length);
                if let Some(max) = ids.iter().max() {
                    next_id = next_id.max(max + 1);
                }
                ids
            } else {
                next_id += blocks;
                (next_id - blocks..next_id).collect()
            };
            let mut row = Map::new();
            row.insert("session_id".into(), json!(s.session_id));
            row.insert("input_length".into(), json!(t.new_tokens));
            row.insert("output_length".into(), json!(t.output_length));
            row.insert("hash_ids".into(), json!(ids));
            if i == 0 {
                row.insert("timestamp".into(), json!(round1(t.timestamp_ms)));
                row.insert("group_id".into(), json!(s.group_id));
                if s.is_restart_continuation {
                    row.insert("is_restart".into(), json!(true));
                }
            } else {
                row.insert("delay".into(), json!(round1(t.delay_ms)));
            }
            lines.push(Value::Object(row).to_string());
        }
    }
    lines
}

/// AIPerf's `PercentileStats` (rounded to 2 decimals); zeros when empty.
fn percentile_stats(values: &[f64]) -> Value {
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    let Some(s) = Stats::compute(values) else {
        return json!({"count": 0, "mean": 0.0, "std": 0.0, "median": 0.0, "p05": 0.0,
                      "p25": 0.0, "p75": 0.0, "p95": 0.0, "p99": 0.0});
    };
    let p = |name| r2(s.percentile(name).unwrap_or(f64::NAN));
    json!({
        "count": s.count, "mean": r2(s.avg), "std": r2(s.std), "median": p("p50"),
        "p05": p("p5"), "p25": p("p25"), "p75": p("p75"), "p95": p("p95"), "p99": p("p99"),
    })
}

/// Observed statistics against an optional target mean and median, with the errors in %.
fn quality_metric(values: &[f64], target: Option<(f64, f64)>) -> Value {
    let observed = percentile_stats(values);
    let error = |t: f64, key: &str| {
        let o = observed[key].as_f64().unwrap_or(0.0);
        let e = if t == 0.0 {
            0.0
        } else {
            (o - t).abs() / t * 100.0
        };
        (e * 100.0).round() / 100.0
    };
    let error_mean = target.map(|t| error(t.0, "mean"));
    let error_median = target.map(|t| error(t.1, "median"));
    json!({
        "target_mean": target.map(|t| t.0),
        "target_median": target.map(|t| t.1),
        "observed": observed,
        "pct_error_mean": error_mean,
        "pct_error_median": error_median,
    })
}

/// AIPerf's `config_summary`: the configuration as flat numbers.
fn config_summary(c: &AgenticConfig) -> Value {
    let prefix = (c.layer1_tokens + c.layer1_5_tokens) as f64;
    let mut s = json!({
        "initial_context_mean": prefix + c.layer2.mean,
        "initial_context_median": prefix + c.layer2.median,
        "layer1_tokens": c.layer1_tokens,
        "layer1_5_tokens": c.layer1_5_tokens,
        "layer2_mean": c.layer2.mean,
        "layer2_median": c.layer2.median,
        "num_groups": c.num_groups,
        "zipf_alpha": c.zipf_alpha,
        "new_tokens_per_turn_mean": c.new_tokens.mean,
        "new_tokens_per_turn_median": c.new_tokens.median,
        "generation_length_mean": c.generation_length.mean,
        "generation_length_median": c.generation_length.median,
        "max_prompt_tokens": c.max_prompt_tokens,
        "block_size": c.block_size,
        "inter_turn_delay_agentic_fraction": c.agentic_fraction,
        "inter_turn_delay_agentic_mean_ms": c.agentic_delay.mean,
        "inter_turn_delay_human_mean_ms": c.human_delay.mean,
        "turn_mode_enabled": 0,
    });
    if let Some((base, scaling)) = c.reset {
        s["reset_base_probability"] = json!(base);
        s["reset_context_scaling"] = json!(scaling);
    }
    s
}

/// `quality.json`: AIPerf's `QualityReport`.
pub fn quality_report(sessions: &[Session], c: &AgenticConfig) -> Value {
    let mut initial = Vec::new();
    let mut new_tokens = Vec::new();
    let mut outputs = Vec::new();
    let mut delays = Vec::new();
    let mut turns = Vec::new();
    let mut utilization = Vec::new();
    let mut ends = [0u64; 3];
    for s in sessions {
        turns.push(s.turns.len() as f64);
        ends[s.end_reason as usize] += 1;
        if let Some(last) = s.turns.last() {
            utilization.push(last.input_length as f64 / c.max_prompt_tokens as f64);
        }
        for (i, t) in s.turns.iter().enumerate() {
            if i == 0 {
                initial.push(t.input_length as f64);
            } else {
                new_tokens.push(t.new_tokens as f64);
                delays.push(t.delay_ms);
            }
            outputs.push(t.output_length as f64);
        }
    }
    let prefix = (c.layer1_tokens + c.layer1_5_tokens) as f64;
    let mut observed = Map::new();
    let mut add = |name: &str, v: &[f64], target| {
        if !v.is_empty() {
            observed.insert(name.into(), quality_metric(v, target));
        }
    };
    add(
        "initial_context",
        &initial,
        Some((prefix + c.layer2.mean, prefix + c.layer2.median)),
    );
    add(
        "generation_length",
        &outputs,
        Some((c.generation_length.mean, c.generation_length.median)),
    );
    add(
        "new_tokens_per_turn",
        &new_tokens,
        Some((c.new_tokens.mean, c.new_tokens.median)),
    );
    add("inter_turn_delay_ms", &delays, None);
    add("turns_per_session", &turns, None);
    let total = sessions.len() as f64;
    let fraction = |n: u64| (n as f64 / total.max(1.0) * 1e4).round() / 1e4;
    let [retires, resets, splits] = ends.map(|n| n);
    json!({
        "config_summary": config_summary(c),
        "observed_vs_target": observed,
        "session_stats": percentile_stats(if turns.is_empty() { &[0.0] } else { &turns }),
        "session_end_stats": {
            "total_sessions": sessions.len(),
            "forced_retires": retires,
            "probabilistic_resets": resets,
            "target_turn_completions": 0,
            "restart_splits": splits,
            "retire_fraction": fraction(retires),
            "reset_fraction": fraction(resets),
            "target_turn_fraction": 0.0,
            "restart_split_fraction": fraction(splits),
            "final_context_utilization":
                percentile_stats(if utilization.is_empty() { &[0.0] } else { &utilization }),
        },
    })
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The files of one run, as written.
pub struct Written {
    pub run_dir: PathBuf,
    pub turns: usize,
    pub rows: usize,
    /// `comparison.txt`'s text.
    pub comparison: String,
}

/// Draws the sessions and writes the run directory; every check happens before anything is
/// written.
pub fn run(req: &Request<'_>) -> Result<Written, String> {
    let (cfg, name) = load_config(req.config)?;
    let cfg = cfg.with_overrides(req.max_isl, req.max_osl)?;
    let run_dir = req.output.join(format!(
        "{name}_{}s_seed{}_{}",
        req.num_sessions,
        req.seed,
        utc_stamp(SystemTime::now())
    ));
    println!(
        "Generating {} sessions (seed={})...",
        req.num_sessions, req.seed
    );
    let mut synth = Synthesizer::new(cfg.clone(), req.seed);
    let sessions = synth.sessions(req.num_sessions);
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| format!("--output {}: {e}", run_dir.display()))?;
    let jsonl = run_dir.join("dataset.jsonl");
    let lines = dataset_lines(&sessions, &synth, cfg.block_size);
    write(&jsonl, &(lines.join("\n") + "\n"))?;
    let manifest = json!({
        "seed": req.seed,
        "num_sessions": sessions.len(),
        "config_name": name,
        "generation_params": cfg.to_json(),
    });
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    write(&run_dir.join("manifest.json"), &pretty(&manifest))?;
    let quality = quality_report(&sessions, &cfg);
    write(&run_dir.join("quality.json"), &pretty(&quality))?;
    let comparison = comparison::render(&quality, comparison::session_minutes(&sessions));
    write(&run_dir.join("comparison.txt"), &comparison)?;
    let checked = validate::check_file(&jsonl).map_err(|e| e.to_string())?;
    if let Some(first) = checked.errors.first() {
        return Err(format!("the written dataset does not validate: {first}"));
    }
    Ok(Written {
        run_dir,
        turns: lines.len(),
        rows: checked.rows,
        comparison,
    })
}

/// The summary AIPerf prints after writing.
pub fn print_summary(w: &Written) {
    let d = &w.run_dir;
    println!("Run directory: {}", d.display());
    println!(
        "  JSONL:           {} ({} turns)",
        d.join("dataset.jsonl").display(),
        w.turns
    );
    println!("  Manifest:        {}", d.join("manifest.json").display());
    println!("  Quality:         {}", d.join("quality.json").display());
    println!("  Validation:      Mooncake trace ({} rows)", w.rows);
    println!("  Comparison:      {}", d.join("comparison.txt").display());
    println!();
    println!("{}", w.comparison);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_are_civil_dates() {
        let at = |s| utc_stamp(UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101-000000");
        // 2026-12-07 12:28:34 UTC.
        assert_eq!(at(1_796_646_514), "20261207-122834");
        assert_eq!(at(951_782_400), "20000229-000000");
    }

    /// Two sessions by hand: the first turn's ids come from the layout, later turns from the
    /// cursor after the largest id so far, `ceil(new / 512)` of them.
    #[test]
    fn rows_take_ids_from_the_layout_then_the_cursor() {
        use super::super::agentic::{EndReason, Turn};
        let synth = Synthesizer::new(AgenticConfig::default(), 1);
        let turn = |input, new, delay| Turn {
            input_length: input,
            output_length: 40,
            new_tokens: new,
            delay_ms: delay,
            timestamp_ms: 0.0,
        };
        let s = |id: &str, index, turns| Session {
            session_id: id.into(),
            group_id: 0,
            session_index: index,
            turns,
            end_reason: EndReason::ForcedRetire,
            is_restart_continuation: index == 1,
        };
        let sessions = [
            s(
                "a",
                0,
                vec![turn(52_737, 52_737, 0.0), turn(53_800, 1_023, 12.345)],
            ),
            s("b", 1, vec![turn(100, 100, 0.0)]),
        ];
        let lines = dataset_lines(&sessions, &synth, 512);
        let rows: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ids = |r: &Value| r["hash_ids"].as_array().unwrap().len();
        assert_eq!(ids(&rows[0]), 104);
        assert_eq!(rows[0]["hash_ids"][103], 200_063);
        assert_eq!(rows[1]["hash_ids"], json!([200_064, 200_065]));
        assert_eq!(rows[1]["delay"], json!(12.3));
        assert_eq!(rows[2]["hash_ids"], json!([0]));
        assert_eq!(rows[2]["is_restart"], json!(true));
        assert_eq!(
            lines[2],
            r#"{"session_id":"b","input_length":100,"output_length":40,"hash_ids":[0],"timestamp":0.0,"group_id":0,"is_restart":true}"#
        );
    }
}
