//! The "Prompt", "Input Sequence Length (ISL)" and "Output Sequence Length (OSL)" groups: how
//! long synthetic prompts are and how many output tokens each request asks for.

use super::{invalid, non_negative, positive, ConfigError};
use crate::cli::ProfileArgs;
use crate::magic_list::One;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Prompt {
    /// `--prompt-batch-size`: texts per request.
    pub batch_size: usize,
    pub isl_mean: f64,
    pub isl_stddev: f64,
    pub osl_mean: Option<f64>,
    pub osl_stddev: f64,
}

/// Checks the lengths. `--osl` on an endpoint type that produces no tokens (`produces_tokens`
/// false: embeddings, rankings, ...) is ignored with a warning. Whether a server stops before
/// `--osl` is judged after the run, from what it returned (the OSL mismatch warning), so a
/// run whose server honours it gets no advice.
pub(super) fn resolve(
    args: &ProfileArgs,
    endpoint_type: &str,
    produces_tokens: bool,
    warnings: &mut Vec<String>,
) -> Result<Prompt, ConfigError> {
    if args.isl_mean.one().is_nan()
        || args.isl_mean.one() <= 0.0
        || !args.isl_mean.one().is_finite()
    {
        return Err(invalid(
            "--isl",
            format!(
                "must be > 0, got {}: all synthetic data would be disabled",
                args.isl_mean.one()
            ),
        ));
    }
    non_negative("--isl-stddev", args.isl_stddev.one())?;
    if let Some(o) = args.osl_mean.one() {
        positive("--osl", o)?;
    }
    non_negative("--osl-stddev", args.osl_stddev.one())?;
    if args.prompt_batch_size == 0 {
        return Err(invalid("--prompt-batch-size", "must be >= 1"));
    }
    if args.osl_mean.one().is_some() && !produces_tokens {
        warnings.push(format!(
            "--osl ignored: endpoint type '{endpoint_type}' does not produce output tokens"
        ));
    }
    Ok(Prompt {
        batch_size: args.prompt_batch_size,
        isl_mean: args.isl_mean.one(),
        isl_stddev: args.isl_stddev.one(),
        osl_mean: args.osl_mean.one(),
        osl_stddev: args.osl_stddev.one(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn prompt_for(a: &[&str], produces_tokens: bool) -> (Result<Prompt, String>, Vec<String>) {
        let mut warnings = Vec::new();
        let p = resolve(&args(a), "embeddings", produces_tokens, &mut warnings)
            .map_err(|e| e.to_string());
        (p, warnings)
    }

    fn prompt(a: &[&str]) -> (Result<Prompt, String>, Vec<String>) {
        prompt_for(a, true)
    }

    #[test]
    fn defaults_and_values() {
        let (p, w) = prompt(&[]);
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
        let (p, _) = prompt(&["--isl", "128", "--isl-stddev", "4", "-b", "2"]);
        let p = p.unwrap();
        assert_eq!((p.isl_mean, p.isl_stddev, p.batch_size), (128.0, 4.0, 2));
    }

    #[test]
    fn osl_warns_only_where_it_is_ignored() {
        // A generating endpoint: no advice up front (the post-run mismatch check decides).
        let (p, w) = prompt(&["--osl", "64"]);
        assert_eq!(p.unwrap().osl_mean, Some(64.0));
        assert!(w.is_empty(), "{w:?}");
        let (_, w) = prompt_for(&["--osl", "64"], false);
        assert_eq!(
            w,
            ["--osl ignored: endpoint type 'embeddings' does not produce output tokens"]
        );
        let (_, w) = prompt_for(&[], false);
        assert!(w.is_empty(), "{w:?}");
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
            assert_eq!(prompt(a).0.unwrap_err(), want, "{a:?}");
        }
    }
}
