//! The "Prompt", "Input Sequence Length (ISL)" and "Output Sequence Length (OSL)" groups: how
//! long synthetic prompts are and how many output tokens each request asks for.

use serde_json::{Map, Value};

use super::{invalid, non_negative, positive, ConfigError};
use crate::cli::ProfileArgs;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Prompt {
    /// `--prompt-batch-size`: texts per request.
    pub batch_size: usize,
    pub isl_mean: f64,
    pub isl_stddev: f64,
    pub osl_mean: Option<f64>,
    pub osl_stddev: f64,
}

/// Checks the lengths; warns when `--osl` is only a cap because nothing asks the server to
/// reach it (`extra_inputs` is the checked `--extra-inputs`).
pub(super) fn resolve(
    args: &ProfileArgs,
    extra_inputs: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<Prompt, ConfigError> {
    if args.isl_mean.is_nan() || args.isl_mean <= 0.0 || !args.isl_mean.is_finite() {
        return Err(invalid(
            "--isl",
            format!(
                "must be > 0, got {}: all synthetic data would be disabled",
                args.isl_mean
            ),
        ));
    }
    non_negative("--isl-stddev", args.isl_stddev)?;
    if let Some(o) = args.osl_mean {
        positive("--osl", o)?;
    }
    non_negative("--osl-stddev", args.osl_stddev)?;
    if args.prompt_batch_size == 0 {
        return Err(invalid("--prompt-batch-size", "must be >= 1"));
    }
    if args.osl_mean.is_some()
        && !extra_inputs.contains_key("ignore_eos")
        && !extra_inputs.contains_key("min_tokens")
    {
        warnings.push(
            "--osl sets only an upper bound: add --extra-inputs ignore_eos:true (or min_tokens) if the server may stop early"
                .to_string(),
        );
    }
    Ok(Prompt {
        batch_size: args.prompt_batch_size,
        isl_mean: args.isl_mean,
        isl_stddev: args.isl_stddev,
        osl_mean: args.osl_mean,
        osl_stddev: args.osl_stddev,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn prompt(a: &[&str], extra: &[(&str, Value)]) -> (Result<Prompt, String>, Vec<String>) {
        let extra: Map<String, Value> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut warnings = Vec::new();
        let p = resolve(&args(a), &extra, &mut warnings).map_err(|e| e.to_string());
        (p, warnings)
    }

    #[test]
    fn defaults_and_values() {
        let (p, w) = prompt(&[], &[]);
        assert_eq!(
            p.unwrap(),
            Prompt {
                batch_size: 1,
                isl_mean: 550.0,
                isl_stddev: 0.0,
                osl_mean: None,
                osl_stddev: 0.0
            }
        );
        assert!(w.is_empty());
        let (p, _) = prompt(&["--isl", "128", "--isl-stddev", "4", "-b", "2"], &[]);
        let p = p.unwrap();
        assert_eq!((p.isl_mean, p.isl_stddev, p.batch_size), (128.0, 4.0, 2));
    }

    #[test]
    fn osl_warns_unless_the_server_is_told_to_reach_it() {
        let (p, w) = prompt(&["--osl", "64"], &[]);
        assert_eq!(p.unwrap().osl_mean, Some(64.0));
        assert_eq!(w, ["--osl sets only an upper bound: add --extra-inputs ignore_eos:true (or min_tokens) if the server may stop early"]);
        for key in ["ignore_eos", "min_tokens"] {
            let (_, w) = prompt(&["--osl", "64"], &[(key, Value::Bool(true))]);
            assert!(w.is_empty(), "{key}");
        }
    }

    #[test]
    fn rejections() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["--isl", "0"],
                "--isl: must be > 0, got 0: all synthetic data would be disabled",
            ),
            (
                &["--isl", "NaN"],
                "--isl: must be > 0, got NaN: all synthetic data would be disabled",
            ),
            (&["--isl-stddev=-1"], "--isl-stddev: must be >= 0, got -1"),
            (&["--osl=-1"], "--osl: must be > 0, got -1"),
            (&["--osl-stddev=-2"], "--osl-stddev: must be >= 0, got -2"),
            (
                &["--prompt-batch-size", "0"],
                "--prompt-batch-size: must be >= 1",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(prompt(a, &[]).0.unwrap_err(), want, "{a:?}");
        }
    }
}
