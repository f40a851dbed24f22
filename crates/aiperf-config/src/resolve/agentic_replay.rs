//! Agentic trajectory replay and scenario locks resolved.
//!
//! AIPerf 0.13 selects its AGENTIC_REPLAY timing only through a scenario (`--scenario`
//! stamps the scenario's `timing_mode` onto the profiling phase); the agentic flags alone
//! leave the timing mode unchanged. [`apply_scenario`] is AIPerf's `apply_scenario`: it fills
//! the scenario's defaults and collects every violated invariant with AIPerf's message.

use aiperf_dataset::cache_bust::CacheBustTarget;

use super::{invalid, LoadMode, ProfileConfig};
use crate::cli::AgenticReplayArgs;
use crate::ConfigError;

/// AIPerf's defaults of `--trajectory-start-min-ratio` / `--trajectory-start-max-ratio`.
pub const DEFAULT_START_RATIOS: (f64, f64) = (0.25, 0.75);

/// A benchmark scenario's locked invariants (AIPerf's `ScenarioSpec`).
#[derive(Debug, PartialEq)]
pub struct ScenarioSpec {
    pub name: &'static str,
    /// Loader names any one of which the dataset must come from.
    pub require_loader: &'static [&'static str],
    pub min_benchmark_duration_s: f64,
    pub default_benchmark_duration_s: f64,
    pub default_start_ratios: (f64, f64),
    pub system_idle_gap_cap_s: f64,
    pub require_cache_bust: CacheBustTarget,
}

/// AIPerf 0.13's only scenario (`common/scenario/inferencex_agentx_mvp.py`).
pub static INFERENCEX_AGENTX_MVP: ScenarioSpec = ScenarioSpec {
    name: "inferencex-agentx-mvp",
    require_loader: &[
        "semianalysis_cc_traces_weka_with_subagents",
        "semianalysis_cc_traces_weka_with_subagents_256k",
        "semianalysis_cc_traces_weka_with_subagents_060226",
        "semianalysis_cc_traces_weka_with_subagents_060226_256k",
        "semianalysis_cc_traces_weka_with_subagents_060526",
        "semianalysis_cc_traces_weka_with_subagents_060526_256k",
        "semianalysis_cc_traces_weka_with_subagents_060826",
        "semianalysis_cc_traces_weka_with_subagents_060826_256k",
        "semianalysis_cc_traces_weka_061326",
        "semianalysis_cc_traces_weka_061326_256k",
        "semianalysis_cc_traces_weka_061526",
        "semianalysis_cc_traces_weka_061526_256k",
        "semianalysis_cc_traces_weka_062126",
        "semianalysis_cc_traces_weka_062126_256k",
        "weka_trace",
        "weka_hf",
    ],
    min_benchmark_duration_s: 900.0,
    default_benchmark_duration_s: 1800.0,
    default_start_ratios: (0.0, 1.0),
    system_idle_gap_cap_s: 10.0,
    require_cache_bust: CacheBustTarget::FirstTurnPrefix,
};

/// The only Hub repo AgentX accepts for `weka_hf`.
const AGENTX_WEKA_HF_REPO: &str = "semianalysisai/cc-traces-weka-062126";

/// Agentic trajectory replay (off unless a scenario selects it).
#[derive(Debug, Clone, PartialEq)]
pub struct AgenticReplay {
    /// `--scenario`: the locked scenario; `Some` selects AGENTIC_REPLAY timing.
    pub scenario: Option<&'static ScenarioSpec>,
    /// `--unsafe-override`: violations become warnings and `submission_valid` false.
    pub unsafe_override: bool,
    /// `--trajectory-start-min-ratio` / `--trajectory-start-max-ratio`.
    pub start_ratios: (f64, f64),
    /// Which of the two ratios the user gave (a scenario fills only the others).
    pub start_ratios_given: (bool, bool),
    /// `--burst-phase-starts`.
    pub burst_phase_starts: bool,
    /// `--trace-idle-gap-cap-seconds`.
    pub trace_idle_gap_cap_s: Option<f64>,
    /// `--system-idle-gap-cap-seconds`.
    pub system_idle_gap_cap_s: Option<f64>,
    system_idle_gap_cap_given: bool,
    /// `--agentic-cache-warmup-duration`.
    pub cache_warmup_s: Option<f64>,
    /// `--agentic-warmup-grace-period`; `None` waits for every primed trajectory.
    pub warmup_grace_s: Option<f64>,
    /// The lock's outcome: `None` without a scenario, `Some(false)` when overridden.
    pub submission_valid: Option<bool>,
    /// Violations downgraded by `--unsafe-override`, one line each.
    pub violations: Vec<String>,
}

impl Default for AgenticReplay {
    fn default() -> Self {
        AgenticReplay {
            scenario: None,
            unsafe_override: false,
            start_ratios: DEFAULT_START_RATIOS,
            start_ratios_given: (false, false),
            burst_phase_starts: false,
            trace_idle_gap_cap_s: None,
            system_idle_gap_cap_s: None,
            system_idle_gap_cap_given: false,
            cache_warmup_s: None,
            warmup_grace_s: None,
            submission_valid: None,
            violations: Vec::new(),
        }
    }
}

impl AgenticReplay {
    /// Whether the profiling phase runs AIPerf's AGENTIC_REPLAY timing.
    pub fn enabled(&self) -> bool {
        self.scenario.is_some()
    }

    /// AIPerf's `submission_invalid_reasons` from the lock (`unsafe_override` when violations
    /// were overridden); the summary JSON adds run-time reasons (`run_cancelled`, ...).
    pub fn submission_invalid_reasons(&self) -> Vec<&'static str> {
        match self.submission_valid {
            Some(false) => vec!["unsafe_override"],
            _ => Vec::new(),
        }
    }
}

pub(super) fn resolve(args: &AgenticReplayArgs) -> Result<AgenticReplay, ConfigError> {
    let scenario = args.scenario.as_deref().map(scenario).transpose()?;
    let min = ratio(
        "--trajectory-start-min-ratio",
        args.trajectory_start_min_ratio,
    )?;
    let max = ratio(
        "--trajectory-start-max-ratio",
        args.trajectory_start_max_ratio,
    )?;
    let start_ratios = (
        min.unwrap_or(DEFAULT_START_RATIOS.0),
        max.unwrap_or(DEFAULT_START_RATIOS.1),
    );
    check_ratio_order(start_ratios)?;
    Ok(AgenticReplay {
        scenario,
        unsafe_override: args.unsafe_override,
        start_ratios,
        start_ratios_given: (min.is_some(), max.is_some()),
        burst_phase_starts: args.burst_phase_starts,
        trace_idle_gap_cap_s: at_least_zero(
            "--trace-idle-gap-cap-seconds",
            args.trace_idle_gap_cap_seconds,
        )?,
        system_idle_gap_cap_s: at_least_zero(
            "--system-idle-gap-cap-seconds",
            args.system_idle_gap_cap_seconds,
        )?,
        system_idle_gap_cap_given: args.system_idle_gap_cap_seconds.is_some(),
        cache_warmup_s: above_zero(
            "--agentic-cache-warmup-duration",
            args.agentic_cache_warmup_duration,
        )?,
        warmup_grace_s: at_least_zero(
            "--agentic-warmup-grace-period",
            args.agentic_warmup_grace_period,
        )?,
        submission_valid: None,
        violations: Vec::new(),
    })
}

/// AIPerf's `get_scenario`, with its message for an unknown name.
fn scenario(name: &str) -> Result<&'static ScenarioSpec, ConfigError> {
    if name == INFERENCEX_AGENTX_MVP.name {
        return Ok(&INFERENCEX_AGENTX_MVP);
    }
    Err(invalid(
        "--scenario",
        format!(
            "Unknown scenario '{name}'. Valid scenarios: {}",
            INFERENCEX_AGENTX_MVP.name
        ),
    ))
}

fn ratio(flag: &'static str, v: Option<f64>) -> Result<Option<f64>, ConfigError> {
    match v {
        Some(r) if !(0.0..=1.0).contains(&r) => {
            Err(invalid(flag, format!("{r} is not a ratio between 0 and 1")))
        }
        r => Ok(r),
    }
}

/// AIPerf's `validate_trajectory_start_range`.
fn check_ratio_order((min, max): (f64, f64)) -> Result<(), ConfigError> {
    if min > max {
        return Err(invalid(
            "--trajectory-start-min-ratio",
            format!("--trajectory-start-min-ratio ({min}) must be <= --trajectory-start-max-ratio ({max})."),
        ));
    }
    Ok(())
}

fn at_least_zero(flag: &'static str, v: Option<f64>) -> Result<Option<f64>, ConfigError> {
    match v {
        Some(s) if !(s >= 0.0 && s.is_finite()) => Err(invalid(
            flag,
            format!("{s} must be a number of seconds >= 0"),
        )),
        s => Ok(s),
    }
}

fn above_zero(flag: &'static str, v: Option<f64>) -> Result<Option<f64>, ConfigError> {
    match v {
        Some(s) if !(s > 0.0 && s.is_finite()) => Err(invalid(
            flag,
            format!("{s} must be a number of seconds > 0"),
        )),
        s => Ok(s),
    }
}

/// One violated invariant (AIPerf's `ScenarioViolation`, printed as AIPerf prints it).
struct Violation {
    flag: &'static str,
    got: String,
    required: String,
    message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: got {}, required {} ({})",
            self.flag, self.got, self.required, self.message
        )
    }
}

/// AIPerf's `apply_scenario` on a resolved config: fills the scenario's defaults, then fails
/// on any violation (or, with `--unsafe-override`, records them and `submission_valid: false`).
/// A missing weka dataset (synthetic prompts) fails even with the override, as in AIPerf.
pub fn apply_scenario(cfg: &mut ProfileConfig) -> Result<(), ConfigError> {
    let Some(spec) = cfg.agentic_replay.scenario else {
        return Ok(());
    };
    let mut v = Vec::new();
    check_timing(cfg, spec, &mut v);
    require_streaming(cfg, spec, &mut v);
    check_ignore_eos(cfg, spec, &mut v);
    check_trace_flags(cfg, spec, &mut v);
    let hard = check_loader(cfg, spec, &mut v);
    check_cache_bust(cfg, spec, &mut v);
    check_duration(cfg, spec, &mut v);
    fill_ratios_and_caps(cfg, spec, &mut v);
    if cfg.random_seed.is_none() {
        // AIPerf's `_apply_random_seed`: a fresh seed, recorded, so the run can be reproduced.
        cfg.random_seed = Some(aiperf_dataset::rng::fresh_seed());
    }
    finish(cfg, v, hard)
}

fn finish(cfg: &mut ProfileConfig, v: Vec<Violation>, hard: bool) -> Result<(), ConfigError> {
    if v.is_empty() {
        cfg.agentic_replay.submission_valid = Some(true);
        return Ok(());
    }
    let lines: Vec<String> = v.iter().map(ToString::to_string).collect();
    if hard || !cfg.agentic_replay.unsafe_override {
        let hint = if hard {
            "These violations cannot be bypassed with --unsafe-override."
        } else {
            "Pass --unsafe-override to convert to warnings (run will be marked submission_valid=false)."
        };
        let n = lines.len();
        let s = if n == 1 { "" } else { "s" };
        return Err(invalid(
            "--scenario",
            format!(
                "Scenario invariants violated ({n} conflict{s}): {}. {hint}",
                lines.join("; ")
            ),
        ));
    }
    for l in &lines {
        cfg.warnings
            .push(format!("Scenario violation (override active): {l}"));
    }
    cfg.agentic_replay.submission_valid = Some(false);
    cfg.agentic_replay.violations = lines;
    Ok(())
}

fn check_timing(cfg: &ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    let current = match cfg.load {
        LoadMode::Concurrency { .. } => return,
        LoadMode::Rate { .. } => "request_rate",
        LoadMode::UserCentric { .. } => "user_centric_rate",
        LoadMode::FixedSchedule { .. } => "fixed_schedule",
    };
    v.push(Violation {
        flag: "--request-rate / --user-centric-rate / --fixed-schedule",
        got: format!("'{current}'"),
        required: "'agentic_replay'".into(),
        message: format!(
            "scenario '{}' requires timing_mode=agentic_replay; do not pass --request-rate / \
             --arrival-pattern / --user-centric-rate / --fixed-schedule (or declare a \
             rate-shaped phase) alongside --scenario",
            spec.name
        ),
    });
}

/// Streaming forced on (TTFT and ITL are the benchmark's point); an endpoint that cannot stream
/// is a violation.
fn require_streaming(cfg: &mut ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    if cfg.endpoint.supports_streaming {
        cfg.streaming = true;
        cfg.body.streaming = true;
        return;
    }
    v.push(Violation {
        flag: "--streaming",
        got: "False".into(),
        required: "True".into(),
        message: format!(
            "scenario '{}' requires --streaming; the per-token latency metrics (TTFT, ITL) are \
             core to this benchmark and need streaming responses",
            spec.name
        ),
    });
}

/// `ignore_eos: true` injected when absent; an explicit false one is a violation.
fn check_ignore_eos(cfg: &mut ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    let extra = &mut cfg.body.extra_inputs;
    match extra.get("ignore_eos") {
        None => {
            extra.insert("ignore_eos".into(), serde_json::Value::Bool(true));
        }
        Some(value) if is_falsy(value) => v.push(Violation {
            flag: "extra_inputs.ignore_eos",
            got: py_repr(value),
            required: "True".into(),
            message: format!("scenario '{}' requires ignore_eos=true", spec.name),
        }),
        Some(_) => {}
    }
}

/// A value as AIPerf's message shows it (Python's `repr`).
fn py_repr(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// `Some("x")` as `'x'`, `None` as `None` (Python's `repr`).
fn opt_repr(v: Option<&str>) -> String {
    v.map_or_else(|| "None".into(), |s| format!("'{s}'"))
}

fn is_falsy(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Bool(b) => !b,
        Value::String(s) => matches!(s.trim().to_lowercase().as_str(), "false" | "0" | "no"),
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Flags that would falsify the recorded timeline or the inputs.
fn check_trace_flags(cfg: &ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    let name = spec.name;
    if cfg.trace_replay.ignore_trace_delays {
        v.push(Violation {
            flag: "--ignore-trace-delays",
            got: "True".into(),
            required: "False".into(),
            message: format!(
                "scenario '{name}' replays recorded trace timing; --ignore-trace-delays would \
                 null every per-turn timestamp/delay and dispatch all turns back-to-back, \
                 falsifying the workload"
            ),
        });
    }
    if let Some(max_isl) = cfg.synthesis.max_isl {
        v.push(Violation {
            flag: "--synthesis-max-isl",
            got: max_isl.to_string(),
            required: "None".into(),
            message: format!(
                "scenario '{name}' forbids client-side input truncation; --synthesis-max-isl \
                 drops traces whose input length exceeds the cap, falsifying the workload"
            ),
        });
    }
    if let Some(cap) = cfg.trace_replay.inter_turn_delay_cap_s {
        v.push(Violation {
            flag: "--inter-turn-delay-cap-seconds",
            got: format!("{cap:?}"),
            required: "None".into(),
            message: format!(
                "scenario '{name}' preserves original inter-turn timing and forbids a per-turn \
                 delay cap"
            ),
        });
    }
    if let Some(cap) = cfg.agentic_replay.trace_idle_gap_cap_s {
        v.push(Violation {
            flag: "--trace-idle-gap-cap-seconds",
            got: format!("{cap:?}"),
            required: "None".into(),
            message: format!(
                "scenario '{name}' preserves original per-trace request timing and forbids \
                 timeline compression"
            ),
        });
    }
}

/// The dataset's loader name: the file format, the public dataset, or `None` (synthetic).
fn loader(cfg: &ProfileConfig) -> Option<&str> {
    if cfg.input_file.is_some() {
        return cfg.custom_dataset_type.as_deref();
    }
    cfg.public_dataset.as_ref().map(|p| p.name.as_str())
}

/// The `require_loader` lock and AgentX's pinned-corpus rules; `true` when the violation is
/// one `--unsafe-override` cannot bypass (no dataset given: synthetic prompts).
fn check_loader(cfg: &ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) -> bool {
    let name = spec.name;
    let detected = loader(cfg);
    let synthetic = cfg.input_file.is_none() && cfg.public_dataset.is_none();
    let mut sorted: Vec<&str> = spec.require_loader.to_vec();
    sorted.sort_unstable();
    let quoted: Vec<String> = sorted.iter().map(|l| format!("'{l}'")).collect();
    let display = format!("any of [{}]", quoted.join(", "));
    if !detected.is_some_and(|d| spec.require_loader.contains(&d)) {
        let (got, message) = if synthetic {
            (
                "'synthetic'".to_string(),
                format!(
                    "scenario '{name}' requires loader={display}; got synthetic (CLI default when \
                     --public-dataset / --input-file is omitted). --unsafe-override cannot \
                     bypass a missing weka loader"
                ),
            )
        } else {
            (
                opt_repr(detected),
                format!("scenario '{name}' requires loader={display}"),
            )
        };
        v.push(Violation {
            flag: "--input-file (loader)",
            got,
            required: format!("\"{display}\""),
            message,
        });
    }
    if detected == Some("weka_trace") {
        v.push(Violation {
            flag: "--custom-dataset-type / --input-file",
            got: "'weka_trace (local, unpinned)'".into(),
            required: format!(
                "'pinned --public-dataset alias or --hf-weka-dataset {AGENTX_WEKA_HF_REPO}'"
            ),
            message: format!(
                "scenario '{name}' cannot verify corpus identity for a local weka_trace \
                 directory; use a with-subagents --public-dataset alias or --hf-weka-dataset \
                 {AGENTX_WEKA_HF_REPO} for submission_valid=true, or pass --unsafe-override for \
                 offline smoke tests (submission_valid=false)"
            ),
        });
    }
    if detected == Some("weka_hf") {
        let repo = cfg
            .public_dataset
            .as_ref()
            .and_then(|p| p.weka_repo.clone());
        if repo.as_deref() != Some(AGENTX_WEKA_HF_REPO) {
            v.push(Violation {
                flag: "--hf-weka-dataset",
                got: opt_repr(repo.as_deref()),
                required: format!("'{AGENTX_WEKA_HF_REPO}'"),
                message: format!(
                    "scenario '{name}' only allows --public-dataset weka_hf with \
                     hf_weka_dataset={AGENTX_WEKA_HF_REPO}"
                ),
            });
        }
    }
    synthetic
}

/// `--cache-bust` left at its default is set to the scenario's target; another one conflicts.
fn check_cache_bust(cfg: &mut ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    let actual = cfg.shaping.cache_bust;
    if actual == spec.require_cache_bust {
        return;
    }
    if actual == CacheBustTarget::None {
        cfg.shaping.cache_bust = spec.require_cache_bust;
        return;
    }
    v.push(Violation {
        flag: "--cache-bust",
        got: format!("'{}'", actual.as_str()),
        required: format!("'{}'", spec.require_cache_bust.as_str()),
        message: format!(
            "scenario '{}' requires cache_bust.target={}; got {}",
            spec.name,
            spec.require_cache_bust.as_str(),
            actual.as_str()
        ),
    });
}

/// `--benchmark-duration` defaults to the scenario's and must reach its floor.
fn check_duration(cfg: &mut ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    let duration = *cfg
        .benchmark_duration_s
        .get_or_insert(spec.default_benchmark_duration_s);
    if duration < spec.min_benchmark_duration_s {
        v.push(Violation {
            flag: "--benchmark-duration",
            got: format!("{duration:?}"),
            required: format!("'>={}'", spec.min_benchmark_duration_s),
            message: format!(
                "scenario '{}' requires duration >= {}s to reach steady state and trigger KV \
                 offloading",
                spec.name, spec.min_benchmark_duration_s
            ),
        });
    }
}

/// The start ratios the user did not give, and the global idle cap (locked to the scenario's).
fn fill_ratios_and_caps(cfg: &mut ProfileConfig, spec: &ScenarioSpec, v: &mut Vec<Violation>) {
    let a = &mut cfg.agentic_replay;
    if !a.start_ratios_given.0 {
        a.start_ratios.0 = spec.default_start_ratios.0;
    }
    if !a.start_ratios_given.1 {
        a.start_ratios.1 = spec.default_start_ratios.1;
    }
    let required = spec.system_idle_gap_cap_s;
    match a.system_idle_gap_cap_s {
        Some(cap) if a.system_idle_gap_cap_given && cap != required => v.push(Violation {
            flag: "--system-idle-gap-cap-seconds",
            got: format!("{cap:?}"),
            required: format!("{required:?}"),
            message: format!(
                "scenario '{}' limits only globally idle replay time to {required} seconds",
                spec.name
            ),
        }),
        _ => a.system_idle_gap_cap_s = Some(required),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, resolve};
    use super::*;

    const TRACE: &str = r#"{"id": "t1", "models": ["m"], "block_size": 64, "hash_id_scope": "local", "requests": [
      {"type": "n", "t": 0, "model": "m", "in": 64, "out": 4, "hash_ids": [1], "api_time": 0.05}]}"#;

    /// A weka trace file in a temporary directory (kept alive by the returned guard).
    fn trace() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, TRACE).unwrap();
        let path = path.to_string_lossy().into_owned();
        (dir, path)
    }

    /// `resolve` followed by the scenario lock, as `ProfileConfig::resolve` will run it.
    fn locked(a: &[&str]) -> Result<ProfileConfig, ConfigError> {
        let mut cfg = resolve(a)?;
        apply_scenario(&mut cfg)?;
        Ok(cfg)
    }

    fn weka<'a>(path: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "-m",
            "m",
            "--input-file",
            path,
            "--custom-dataset-type",
            "weka_trace",
        ];
        a.extend_from_slice(extra);
        a
    }

    #[test]
    fn defaults_are_aiperfs_and_replay_is_off() {
        let a = resolve(&["-m", "m"]).unwrap().agentic_replay;
        assert_eq!(a, AgenticReplay::default());
        assert_eq!(a.start_ratios, (0.25, 0.75));
        assert!(!a.enabled());
    }

    #[test]
    fn every_flag_is_read() {
        let a = resolve(&[
            "-m",
            "m",
            "--trajectory-start-min-ratio",
            "0.1",
            "--trajectory-start-max-ratio",
            "0.2",
            "--burst-phase-starts",
            "--trace-idle-gap-cap-seconds",
            "3",
            "--system-idle-gap-cap-seconds",
            "4",
            "--agentic-cache-warmup-duration",
            "5",
            "--agentic-warmup-grace-period",
            "0",
            "--unsafe-override",
        ])
        .unwrap()
        .agentic_replay;
        assert_eq!(a.start_ratios, (0.1, 0.2));
        assert!(a.burst_phase_starts && a.unsafe_override && !a.enabled());
        assert_eq!(
            (
                a.trace_idle_gap_cap_s,
                a.system_idle_gap_cap_s,
                a.cache_warmup_s,
                a.warmup_grace_s
            ),
            (Some(3.0), Some(4.0), Some(5.0), Some(0.0))
        );
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = |a: &[&str]| {
            let mut full = vec!["-m", "m"];
            full.extend_from_slice(a);
            err(&full)
        };
        assert_eq!(
            e(&["--scenario", "x"]),
            "--scenario: Unknown scenario 'x'. Valid scenarios: inferencex-agentx-mvp"
        );
        assert_eq!(
            e(&["--trajectory-start-min-ratio", "1.5"]),
            "--trajectory-start-min-ratio: 1.5 is not a ratio between 0 and 1"
        );
        assert_eq!(
            e(&["--trajectory-start-min-ratio", "0.8"]),
            "--trajectory-start-min-ratio: --trajectory-start-min-ratio (0.8) must be <= \
             --trajectory-start-max-ratio (0.75)."
        );
        assert_eq!(
            e(&["--system-idle-gap-cap-seconds", "-1"]),
            "--system-idle-gap-cap-seconds: -1 must be a number of seconds >= 0"
        );
        assert_eq!(
            e(&["--agentic-cache-warmup-duration", "0"]),
            "--agentic-cache-warmup-duration: 0 must be a number of seconds > 0"
        );
        assert!(e(&["--trace-idle-gap-cap-seconds", "NaN"]).starts_with("--trace-idle-gap-cap"));
    }

    #[test]
    fn no_scenario_changes_nothing() {
        let (_d, path) = trace();
        let before = resolve(&weka(&path, &[])).unwrap();
        let after = locked(&weka(&path, &[])).unwrap();
        assert_eq!(before.agentic_replay, after.agentic_replay);
        assert_eq!(before.benchmark_duration_s, after.benchmark_duration_s);
        assert_eq!(before.streaming, after.streaming);
    }

    #[test]
    fn a_local_weka_trace_is_unpinned_and_needs_the_override() {
        let (_d, path) = trace();
        let e = locked(&weka(&path, &["--scenario", "inferencex-agentx-mvp"])).unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("--scenario: Scenario invariants violated (1 conflict): --custom-dataset-type / --input-file: got 'weka_trace (local, unpinned)'"),
            "{e}"
        );
        assert!(e.ends_with("Pass --unsafe-override to convert to warnings (run will be marked submission_valid=false)."), "{e}");
    }

    #[test]
    fn the_override_fills_the_scenario_and_marks_the_submission_invalid() {
        let (_d, path) = trace();
        let cfg = locked(&weka(
            &path,
            &["--scenario", "inferencex-agentx-mvp", "--unsafe-override"],
        ))
        .unwrap();
        let a = &cfg.agentic_replay;
        assert!(a.enabled());
        assert_eq!(a.submission_valid, Some(false));
        assert_eq!(a.submission_invalid_reasons(), ["unsafe_override"]);
        assert_eq!(a.violations.len(), 1);
        assert_eq!(a.start_ratios, (0.0, 1.0));
        assert_eq!(a.system_idle_gap_cap_s, Some(10.0));
        assert_eq!(cfg.benchmark_duration_s, Some(1800.0));
        assert!(cfg.streaming && cfg.body.streaming);
        assert_eq!(
            cfg.body.extra_inputs.get("ignore_eos"),
            Some(&serde_json::json!(true))
        );
        assert_eq!(cfg.shaping.cache_bust, CacheBustTarget::FirstTurnPrefix);
        assert!(cfg.random_seed.is_some());
        assert!(cfg
            .warnings
            .iter()
            .any(|w| w.starts_with("Scenario violation (override active)")));
    }

    #[test]
    fn explicit_values_are_kept_or_refused() {
        let (_d, path) = trace();
        let cfg = locked(&weka(
            &path,
            &[
                "--scenario",
                "inferencex-agentx-mvp",
                "--unsafe-override",
                "--trajectory-start-max-ratio",
                "0.5",
                "--random-seed",
                "7",
                "--benchmark-duration",
                "1000",
            ],
        ))
        .unwrap();
        assert_eq!(cfg.agentic_replay.start_ratios, (0.0, 0.5));
        assert_eq!(cfg.random_seed, Some(7));
        assert_eq!(cfg.benchmark_duration_s, Some(1000.0));
        let e = locked(&weka(
            &path,
            &[
                "--scenario",
                "inferencex-agentx-mvp",
                "--benchmark-duration",
                "60",
                "--system-idle-gap-cap-seconds",
                "5",
                "--trace-idle-gap-cap-seconds",
                "1",
                "--request-rate",
                "2",
                "--extra-inputs",
                "ignore_eos:false",
            ],
        ))
        .unwrap_err()
        .to_string();
        for part in [
            "(6 conflicts)",
            "--request-rate / --user-centric-rate / --fixed-schedule: got 'request_rate'",
            "extra_inputs.ignore_eos: got False, required True",
            "--trace-idle-gap-cap-seconds: got 1.0, required None",
            "--benchmark-duration: got 60.0, required '>=900'",
            "--system-idle-gap-cap-seconds: got 5.0, required 10.0",
        ] {
            assert!(e.contains(part), "{part} not in {e}");
        }
    }

    #[test]
    fn another_cache_bust_target_conflicts() {
        let (_d, path) = trace();
        let e = locked(&weka(
            &path,
            &[
                "--scenario",
                "inferencex-agentx-mvp",
                "--cache-bust",
                "first_turn_suffix",
            ],
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("; --cache-bust: got 'first_turn_suffix', required 'first_turn_prefix' (scenario 'inferencex-agentx-mvp' requires cache_bust.target=first_turn_prefix; got first_turn_suffix)."),
            "{e}"
        );
    }

    #[test]
    fn another_loader_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(
            &path,
            "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 2}\n",
        )
        .unwrap();
        let path = path.to_string_lossy().into_owned();
        let e = locked(&[
            "-m",
            "m",
            "--input-file",
            &path,
            "--custom-dataset-type",
            "mooncake_trace",
            "--scenario",
            "inferencex-agentx-mvp",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("(1 conflict): --input-file (loader): got 'mooncake_trace', required \"any of ['semianalysis_cc_traces_weka_061326', "),
            "{e}"
        );
        assert!(e.contains("'weka_hf', 'weka_trace']\" (scenario 'inferencex-agentx-mvp' requires loader=any of ["), "{e}");
    }

    #[test]
    fn a_pinned_corpus_passes_the_lock() {
        let run = |extra: &[&str]| {
            let mut a = vec!["-m", "m", "--scenario", "inferencex-agentx-mvp"];
            a.extend_from_slice(extra);
            locked(&a)
        };
        let cfg = run(&["--public-dataset", "semianalysis_cc_traces_weka_062126"]).unwrap();
        assert_eq!(cfg.agentic_replay.submission_valid, Some(true));
        assert!(cfg.agentic_replay.submission_invalid_reasons().is_empty());
        let pinned = ["--public-dataset", "weka_hf", "--hf-weka-dataset"];
        let ok = [&pinned[..], &["semianalysisai/cc-traces-weka-062126"]].concat();
        assert_eq!(
            run(&ok).unwrap().agentic_replay.submission_valid,
            Some(true)
        );
        let other = [&pinned[..], &["someone/traces"]].concat();
        let e = run(&other).unwrap_err().to_string();
        assert!(
            e.contains("(1 conflict): --hf-weka-dataset: got 'someone/traces', required 'semianalysisai/cc-traces-weka-062126'"),
            "{e}"
        );
    }

    #[test]
    fn synthetic_prompts_cannot_be_overridden() {
        let e = locked(&[
            "-m",
            "m",
            "--scenario",
            "inferencex-agentx-mvp",
            "--unsafe-override",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("got 'synthetic'"), "{e}");
        assert!(
            e.ends_with("These violations cannot be bypassed with --unsafe-override."),
            "{e}"
        );
    }
}
