//! The "Rankings" group: the shape of synthetic rankings requests (one query and its passages),
//! used when the endpoint ranks passages and no dataset file is given.

use aiperf_dataset::RankingsConfig;

use super::{invalid, ConfigError};
use crate::cli::ProfileArgs;

pub(super) fn resolve(args: &ProfileArgs) -> Result<RankingsConfig, ConfigError> {
    for (flag, v) in [
        ("--rankings-passages-mean", args.rankings_passages_mean),
        (
            "--rankings-passages-prompt-token-mean",
            args.rankings_passages_prompt_token_mean,
        ),
        (
            "--rankings-query-prompt-token-mean",
            args.rankings_query_prompt_token_mean,
        ),
    ] {
        if v == 0 {
            return Err(invalid(flag, "must be >= 1"));
        }
    }
    Ok(RankingsConfig {
        passages_mean: args.rankings_passages_mean as f64,
        passages_stddev: args.rankings_passages_stddev as f64,
        passage_tokens_mean: args.rankings_passages_prompt_token_mean as f64,
        passage_tokens_stddev: args.rankings_passages_prompt_token_stddev as f64,
        query_tokens_mean: args.rankings_query_prompt_token_mean as f64,
        query_tokens_stddev: args.rankings_query_prompt_token_stddev as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    #[test]
    fn defaults_values_and_rejections() {
        assert_eq!(resolve(&args(&[])).unwrap(), RankingsConfig::default());
        let r = resolve(&args(&[
            "--rankings-passages-mean",
            "4",
            "--rankings-passages-stddev",
            "1",
            "--rankings-query-prompt-token-mean",
            "32",
        ]))
        .unwrap();
        assert_eq!(
            (r.passages_mean, r.passages_stddev, r.query_tokens_mean),
            (4.0, 1.0, 32.0)
        );
        for flag in [
            "--rankings-passages-mean",
            "--rankings-passages-prompt-token-mean",
            "--rankings-query-prompt-token-mean",
        ] {
            assert_eq!(
                resolve(&args(&[flag, "0"])).unwrap_err().to_string(),
                format!("{flag}: must be >= 1")
            );
        }
    }
}
