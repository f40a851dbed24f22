//! The "Synthesis" group: reshaping a recorded trace before replay (`aiperf_dataset::synthesis`).

use aiperf_dataset::synthesis::SynthesisParams;

use super::{invalid, ConfigError};
use crate::cli::ProfileArgs;

/// Dataset formats synthesis applies to: AIPerf's trace loaders (`is_trace`). baseten traces
/// and SageMaker captures send recorded prompts, so only timing and output lengths change.
pub const TRACE_FORMATS: [&str; 7] = [
    "mooncake_trace",
    "bailian_trace",
    "burst_gpt_trace",
    "baseten_trace",
    "sagemaker_data_capture",
    "weka_trace",
    "tracelab",
];

/// What baseten replay refuses, with AIPerf's reasons: its prompts go out verbatim with their
/// recorded KV hints, and its time scale is `--replay-speedup`.
fn refused_by_baseten(params: &SynthesisParams) -> Option<(&'static str, String)> {
    if params.speedup_ratio != 1.0 {
        return Some((
            "--synthesis-speedup-ratio",
            format!(
                "synthesis speedup_ratio={} is not supported by the baseten_trace loader; use --replay-speedup for wall-clock compression",
                params.speedup_ratio
            ),
        ));
    }
    let reshaping = [
        (
            "--synthesis-prefix-len-multiplier",
            "prefix_len_multiplier",
            params.prefix_len_multiplier,
        ),
        (
            "--synthesis-prefix-root-multiplier",
            "prefix_root_multiplier",
            f64::from(params.prefix_root_multiplier),
        ),
        (
            "--synthesis-prompt-len-multiplier",
            "prompt_len_multiplier",
            params.prompt_len_multiplier,
        ),
    ];
    reshaping
        .into_iter()
        .find(|(_, _, v)| *v != 1.0)
        .map(|(flag, name, v)| {
            (
                flag,
                format!(
                    "synthesis {name}={v} is not supported by the baseten_trace loader: it replays recorded prompts verbatim, so hash-reshaping synthesis cannot change the sent prompt and would desync the forwarded hash_ids KV hints"
                ),
            )
        })
}

pub(super) fn resolve(
    args: &ProfileArgs,
    custom_dataset_type: Option<&str>,
) -> Result<SynthesisParams, ConfigError> {
    for (flag, v) in [
        ("--synthesis-speedup-ratio", args.synthesis_speedup_ratio),
        (
            "--synthesis-prefix-len-multiplier",
            args.synthesis_prefix_len_multiplier,
        ),
        (
            "--synthesis-prompt-len-multiplier",
            args.synthesis_prompt_len_multiplier,
        ),
        (
            "--synthesis-output-len-multiplier",
            args.synthesis_output_len_multiplier,
        ),
    ] {
        if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
            return Err(invalid(flag, format!("must be in [0, 1000000], got {v}")));
        }
    }
    if !(1..=1_000_000).contains(&args.synthesis_prefix_root_multiplier) {
        return Err(invalid(
            "--synthesis-prefix-root-multiplier",
            format!(
                "must be in [1, 1000000], got {}",
                args.synthesis_prefix_root_multiplier
            ),
        ));
    }
    for (flag, v) in [
        ("--synthesis-max-isl", args.synthesis_max_isl),
        ("--synthesis-max-osl", args.synthesis_max_osl),
    ] {
        if v == Some(0) {
            return Err(invalid(flag, "must be >= 1"));
        }
    }
    let params = SynthesisParams {
        speedup_ratio: args.synthesis_speedup_ratio,
        prefix_len_multiplier: args.synthesis_prefix_len_multiplier,
        prefix_root_multiplier: args.synthesis_prefix_root_multiplier,
        prompt_len_multiplier: args.synthesis_prompt_len_multiplier,
        output_len_multiplier: args.synthesis_output_len_multiplier,
        max_isl: args.synthesis_max_isl,
        max_osl: args.synthesis_max_osl,
    };
    if params.is_set() && !custom_dataset_type.is_some_and(|t| TRACE_FORMATS.contains(&t)) {
        return Err(invalid(
            "--synthesis-*",
            format!(
                "synthesis options are only supported with trace datasets ({}), but the input is {}",
                TRACE_FORMATS.join(", "),
                custom_dataset_type.unwrap_or("synthetic")
            ),
        ));
    }
    if custom_dataset_type == Some("baseten_trace") {
        if let Some((flag, why)) = refused_by_baseten(&params) {
            return Err(invalid(flag, why));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    #[test]
    fn defaults_are_the_identity_and_bad_values_are_named() {
        let p = resolve(&args(&[]), None).unwrap();
        assert_eq!(p, SynthesisParams::default());
        let err = |a: &[&str], t: Option<&str>| resolve(&args(a), t).unwrap_err().to_string();
        assert_eq!(
            err(&["--synthesis-speedup-ratio=-1"], Some("mooncake_trace")),
            "--synthesis-speedup-ratio: must be in [0, 1000000], got -1"
        );
        assert_eq!(
            err(
                &["--synthesis-prefix-root-multiplier", "0"],
                Some("mooncake_trace")
            ),
            "--synthesis-prefix-root-multiplier: must be in [1, 1000000], got 0"
        );
        assert_eq!(
            err(&["--synthesis-max-isl", "0"], Some("mooncake_trace")),
            "--synthesis-max-isl: must be >= 1"
        );
        assert_eq!(
            err(&["--synthesis-max-osl", "5"], Some("single_turn")),
            "--synthesis-*: synthesis options are only supported with trace datasets (mooncake_trace, bailian_trace, burst_gpt_trace, baseten_trace, sagemaker_data_capture, weka_trace, tracelab), but the input is single_turn"
        );
        let p = resolve(
            &args(&[
                "--synthesis-prefix-len-multiplier",
                "2",
                "--synthesis-max-osl",
                "9",
            ]),
            Some("mooncake_trace"),
        )
        .unwrap();
        assert_eq!(p.prefix_len_multiplier, 2.0);
        assert_eq!(p.max_osl, Some(9));
        // baseten: outputs and caps only, as AIPerf.
        let b = Some("baseten_trace");
        assert!(resolve(
            &args(&[
                "--synthesis-max-osl",
                "9",
                "--synthesis-output-len-multiplier",
                "2"
            ]),
            b
        )
        .is_ok());
        assert!(err(&["--synthesis-speedup-ratio", "2"], b).starts_with(
            "--synthesis-speedup-ratio: synthesis speedup_ratio=2 is not supported by the baseten_trace loader; use --replay-speedup"
        ));
        assert!(err(&["--synthesis-prefix-root-multiplier", "3"], b).starts_with(
            "--synthesis-prefix-root-multiplier: synthesis prefix_root_multiplier=3 is not supported"
        ));
        assert!(resolve(
            &args(&["--synthesis-speedup-ratio", "2"]),
            Some("sagemaker_data_capture")
        )
        .is_ok());
    }
}
