//! The synthetic workload shaping group (`cli/shaping.rs`): checked and typed.
//!
//! Rules are AIPerf 0.13's (its `PromptConfig`, ratio configs, `DistributionParser` and
//! cache-bust validators), each refusal one line naming the flag.

use aiperf_dataset::cache_bust::CacheBustTarget;
use aiperf_dataset::corpus::PromptCorpus;
use aiperf_dataset::length_dist::LengthDist;
use aiperf_dataset::seq_dist::{
    parse_range_ratio, LengthSampler, RandomCorpusStyle, RangeWindow, SeqDist,
};

use super::limits::MAX_PROMPT_TOKENS;
use super::{invalid, ConfigError};
use crate::magic_list::One;
use crate::ProfileArgs;

/// Endpoint types whose bodies have a place for a cache-bust marker (AIPerf's
/// `supports_cache_bust` endpoints).
const CACHE_BUST_ENDPOINTS: [&str; 3] = ["chat", "responses", "messages"];

/// `--random-range-ratio` as checked: the ratios and the means they apply to. The window
/// itself is built once the tokenizer is known (vLLM style takes its special tokens off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeRatio {
    pub isl_ratio: f64,
    pub osl_ratio: f64,
    pub isl_mean: u32,
    pub osl_mean: u32,
}

impl RangeRatio {
    /// The sampling windows, given the tokenizer's special-token count.
    pub fn window(&self, style: RandomCorpusStyle, special_tokens: u32) -> RangeWindow {
        RangeWindow::new(
            style,
            self.isl_mean,
            self.osl_mean,
            (self.isl_ratio, self.osl_ratio),
            special_tokens,
        )
    }
}

/// How synthetic prompt lengths and texts are drawn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShapingOptions {
    /// `--prompt-corpus`; `None` when not given (the loader's default, sonnet).
    pub prompt_corpus: Option<PromptCorpus>,
    pub cache_bust: CacheBustTarget,
    /// `--seq-dist`.
    pub seq_dist: Option<SeqDist>,
    /// `--random-range-ratio`.
    pub range_ratio: Option<RangeRatio>,
    /// `--isl-distribution` (or, with only `--osl-distribution`, `--isl`/`--isl-stddev` as a
    /// normal distribution) and `--osl-distribution`.
    pub drawn: Option<(LengthDist, Option<LengthDist>)>,
    pub random_corpus_style: RandomCorpusStyle,
    /// Synthetic conversations carry a system message (`--system-prompt[-file]`,
    /// `--shared-system-prompt-length`), so `--cache-bust system_*` marks it rather than the
    /// first user message.
    pub has_system_prompt: bool,
}

impl ShapingOptions {
    /// The mean ISL of a synthetic turn: `isl_mean` (`--isl`) unless a distribution or window
    /// replaces it (for memory estimates).
    pub fn mean_isl(&self, isl_mean: f64) -> f64 {
        if let Some((isl, _)) = &self.drawn {
            return isl.expected_value();
        }
        match (&self.seq_dist, &self.range_ratio) {
            (Some(d), _) => d
                .pairs()
                .iter()
                .map(|p| p.isl as f64 * p.probability / 100.0)
                .sum(),
            (None, Some(r)) => {
                let (lo, hi) = r.window(self.random_corpus_style, 0).isl;
                (lo as f64 + hi as f64) / 2.0
            }
            (None, None) => isl_mean,
        }
    }

    /// Where each synthetic turn's (ISL, OSL) come from, if not `--isl`/`--osl`; the ratio
    /// window leaves out `special_tokens` (what the tokenizer adds itself) in vLLM style.
    pub fn lengths(&self, special_tokens: u32) -> Option<LengthSampler> {
        if let Some((isl, osl)) = &self.drawn {
            return Some(LengthSampler::Drawn {
                isl: isl.clone(),
                osl: osl.clone(),
            });
        }
        match (&self.seq_dist, &self.range_ratio) {
            (Some(d), _) => Some(LengthSampler::Distribution(d.clone())),
            (None, Some(r)) => Some(LengthSampler::Range(
                r.window(self.random_corpus_style, special_tokens),
            )),
            (None, None) => None,
        }
    }
}

pub(super) fn resolve(
    args: &ProfileArgs,
    _warnings: &mut Vec<String>,
) -> Result<ShapingOptions, ConfigError> {
    let flags = &args.shaping.flags;
    let random_corpus_style = style(&flags.random_corpus_style)?;
    let seq_dist = match &flags.seq_dist {
        Some(s) => Some(seq_dist(s)?),
        None => None,
    };
    let range_ratio = match &flags.random_range_ratio {
        Some(r) => Some(range_ratio(
            args,
            r,
            random_corpus_style,
            seq_dist.is_some(),
        )?),
        None => None,
    };
    let drawn = drawn(args)?;
    if drawn.is_some() && (seq_dist.is_some() || range_ratio.is_some()) {
        return Err(invalid(
            "--isl-distribution",
            "cannot be combined with --seq-dist or --random-range-ratio (each sets the lengths)",
        ));
    }
    let prompt_corpus = match &flags.prompt_corpus {
        Some(c) => Some(corpus(args, c)?),
        None => None,
    };
    Ok(ShapingOptions {
        prompt_corpus,
        cache_bust: cache_bust(args)?,
        seq_dist,
        range_ratio,
        drawn,
        random_corpus_style,
        has_system_prompt: has_system_prompt(args),
    })
}

/// One `--isl-distribution`/`--osl-distribution` value, capped at the client's prompt limit.
fn length_dist(flag: &'static str, text: &str) -> Result<LengthDist, ConfigError> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| invalid(flag, format!("'{text}' is not JSON: {e}")))?;
    let d = LengthDist::parse(&json).map_err(|e| invalid(flag, e))?;
    if d.expected_value() > MAX_PROMPT_TOKENS {
        return Err(invalid(
            flag,
            format!(
                "a mean of {} tokens is more than this client allows ({MAX_PROMPT_TOKENS} tokens)",
                d.expected_value()
            ),
        ));
    }
    Ok(d.capped(MAX_PROMPT_TOKENS))
}

/// The drawn lengths: the ISL distribution given or `--isl` as a normal one, and the OSL
/// distribution if given.
fn drawn(args: &ProfileArgs) -> Result<Option<(LengthDist, Option<LengthDist>)>, ConfigError> {
    let flags = &args.shaping.flags;
    let osl = match &flags.osl_distribution {
        Some(t) => Some(length_dist("--osl-distribution", t)?),
        None => None,
    };
    let isl = match &flags.isl_distribution {
        Some(t) => length_dist("--isl-distribution", t)?,
        None if osl.is_some() => {
            if args.isl_mean.is_list() || args.isl_stddev.is_list() {
                return Err(invalid(
                    "--osl-distribution",
                    "cannot be combined with an --isl or --isl-stddev sweep",
                ));
            }
            let (mean, stddev) = (args.isl_mean.one(), args.isl_stddev.one());
            length_dist(
                "--isl",
                &serde_json::json!({"mean": mean, "stddev": stddev}).to_string(),
            )?
        }
        None => return Ok(None),
    };
    Ok(Some((isl, osl)))
}

fn style(s: &str) -> Result<RandomCorpusStyle, ConfigError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "vllm" => Ok(RandomCorpusStyle::Vllm),
        "sglang" => Ok(RandomCorpusStyle::Sglang),
        _ => Err(invalid(
            "--random-corpus-style",
            format!("'{s}' is not one of: vllm, sglang"),
        )),
    }
}

fn seq_dist(s: &str) -> Result<SeqDist, ConfigError> {
    let d = SeqDist::parse(s).map_err(|e| invalid("--seq-dist", e))?;
    if d.max_isl() > MAX_PROMPT_TOKENS {
        return Err(invalid(
            "--seq-dist",
            format!(
                "an ISL of {} (mean + 4 stddev) is more than this client allows \
                 ({MAX_PROMPT_TOKENS} tokens)",
                d.max_isl()
            ),
        ));
    }
    Ok(d)
}

/// AIPerf's `--random-range-ratio` rules, in its order.
fn range_ratio(
    args: &ProfileArgs,
    text: &str,
    style: RandomCorpusStyle,
    with_seq_dist: bool,
) -> Result<RangeRatio, ConfigError> {
    const FLAG: &str = "--random-range-ratio";
    if text.trim().is_empty() {
        return Err(invalid(FLAG, "value cannot be empty"));
    }
    if with_seq_dist {
        return Err(invalid(
            FLAG,
            "cannot be combined with --seq-dist; use one or the other",
        ));
    }
    let no_default = "There is no safe default when a ratio window is requested.";
    if !args.shaping.isl_given {
        return Err(invalid(
            FLAG,
            format!("requires --isl to be set explicitly. {no_default}"),
        ));
    }
    let Some(osl) = args.osl_mean.one() else {
        return Err(invalid(
            FLAG,
            format!("requires --osl to be set explicitly. {no_default}"),
        ));
    };
    let isl = args.isl_mean.one();
    // AIPerf's int(): truncation.
    let (isl_mean, osl_mean) = (isl.trunc(), osl.trunc());
    if isl_mean.is_nan() || isl_mean < 1.0 {
        return Err(invalid(
            FLAG,
            format!(
                "requires --isl >= 1, got {isl_mean}. A zero-token input window has no prompt \
                 to scale."
            ),
        ));
    }
    if osl_mean.is_nan() || osl_mean < 1.0 {
        return Err(invalid(
            FLAG,
            format!(
                "requires --osl >= 1, got {osl_mean}. A zero-token output window would request \
                 no generation."
            ),
        ));
    }
    for (flag, sd, what) in [
        ("--isl-stddev", args.isl_stddev.one(), "ISL"),
        ("--osl-stddev", args.osl_stddev.one(), "OSL"),
    ] {
        if sd != 0.0 {
            return Err(invalid(
                flag,
                format!(
                    "cannot be combined with --random-range-ratio; the ratio window already \
                     controls {what} variance"
                ),
            ));
        }
    }
    let (isl_ratio, osl_ratio) =
        parse_range_ratio(text, style).map_err(|e| invalid(FLAG, format!("invalid value: {e}")))?;
    let ratio = RangeRatio {
        isl_ratio,
        osl_ratio,
        isl_mean: isl_mean.min(MAX_PROMPT_TOKENS) as u32,
        osl_mean: osl_mean.min(MAX_PROMPT_TOKENS) as u32,
    };
    let window = ratio.window(style, 0);
    if window.isl.1 as f64 > MAX_PROMPT_TOKENS {
        return Err(invalid(
            FLAG,
            format!(
                "an ISL of up to {} is more than this client allows ({MAX_PROMPT_TOKENS} tokens)",
                window.isl.1
            ),
        ));
    }
    // vLLM's guard: the shortest prompt (prefix included) must have a token.
    let prefix = if args.prefix_pool_size > 0 {
        args.prefix_length
    } else {
        0
    };
    if style == RandomCorpusStyle::Vllm && prefix + (window.isl.0 as usize) < 1 {
        return Err(invalid(
            FLAG,
            format!(
                "{} with --isl {} produces a minimum input of 0 tokens. Increase --isl, add \
                 --prompt-prefix-length, or lower --random-range-ratio so the minimum is at \
                 least 1 token",
                text.trim(),
                isl_mean
            ),
        ));
    }
    Ok(ratio)
}

fn corpus(args: &ProfileArgs, s: &str) -> Result<PromptCorpus, ConfigError> {
    let Some(c) = PromptCorpus::parse(&s.trim().to_ascii_lowercase()) else {
        return Err(invalid(
            "--prompt-corpus",
            format!("'{s}' is not one of: sonnet, coding, random"),
        ));
    };
    let trace = args
        .custom_dataset_type
        .as_deref()
        .filter(|t| ["mooncake_trace", "bailian_trace", "burst_gpt_trace"].contains(t));
    if let (PromptCorpus::Random, Some(format)) = (c, trace) {
        return Err(invalid(
            "--prompt-corpus",
            format!(
                "'random' is not compatible with --custom-dataset-type {format}: trace loaders \
                 synthesize prompt content from a text corpus keyed by hash_id; use sonnet or \
                 coding"
            ),
        ));
    }
    Ok(c)
}

fn has_system_prompt(args: &ProfileArgs) -> bool {
    args.system_prompt.is_some()
        || args.system_prompt_file.is_some()
        || args.shared_system_prompt_length.is_some_and(|n| n > 0)
}

fn cache_bust(args: &ProfileArgs) -> Result<CacheBustTarget, ConfigError> {
    const FLAG: &str = "--cache-bust";
    let s = &args.shaping.flags.cache_bust;
    let Some(target) = CacheBustTarget::parse(s) else {
        let names: Vec<&str> = CacheBustTarget::ALL.iter().map(|t| t.as_str()).collect();
        return Err(invalid(
            FLAG,
            format!("'{s}' is not one of: {}", names.join(", ")),
        ));
    };
    if target == CacheBustTarget::None {
        return Ok(target);
    }
    if !CACHE_BUST_ENDPOINTS.contains(&args.endpoint_type.as_str()) {
        return Err(invalid(
            FLAG,
            format!(
                "not supported by endpoint type '{}' (no place for a marker); supported: {}",
                args.endpoint_type,
                CACHE_BUST_ENDPOINTS.join(", ")
            ),
        ));
    }
    let synthetic = args.input_file.is_none() && args.public_dataset.is_none();
    if target == CacheBustTarget::WarmupIsolationSystem && synthetic && !has_system_prompt(args) {
        return Err(invalid(
            FLAG,
            "warmup_isolation_system requires a system prompt (--shared-system-prompt-length, \
             --system-prompt or --system-prompt-file): without one the marker would fall \
             through to the user turn; use warmup_isolation_first_turn instead",
        ));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn shaping(a: &[&str]) -> Result<ShapingOptions, String> {
        let mut full = vec!["--model", "m"];
        full.extend_from_slice(a);
        resolve(&args(&full), &mut Vec::new()).map_err(|e| e.to_string())
    }

    fn err(a: &[&str]) -> String {
        shaping(a).expect_err("refused")
    }

    #[test]
    fn defaults() {
        let s = shaping(&[]).unwrap();
        assert_eq!(s, ShapingOptions::default());
        assert_eq!(s.prompt_corpus.unwrap_or_default(), PromptCorpus::Sonnet);
        assert_eq!(s.cache_bust, CacheBustTarget::None);
        assert_eq!(s.random_corpus_style, RandomCorpusStyle::Vllm);
    }

    #[test]
    fn accepted_values() {
        let s = shaping(&[
            "--sequence-distribution",
            "128,16:50;512,32:50",
            "--prompt-corpus",
            "Coding",
            "--cache-bust",
            "first_turn_suffix",
            "--random-corpus-style",
            "sglang",
        ])
        .unwrap();
        assert_eq!(s.seq_dist.as_ref().map(|d| d.pairs().len()), Some(2));
        assert_eq!(s.mean_isl(550.0), 0.5 * 128.0 + 0.5 * 512.0);
        assert_eq!(s.prompt_corpus.unwrap_or_default(), PromptCorpus::Coding);
        assert_eq!(s.cache_bust, CacheBustTarget::FirstTurnSuffix);
        assert_eq!(s.random_corpus_style, RandomCorpusStyle::Sglang);
        let r = shaping(&["--isl", "100", "--osl", "50", "--random-range-ratio", "0.3"]).unwrap();
        assert_eq!(
            r.range_ratio,
            Some(RangeRatio {
                isl_ratio: 0.3,
                osl_ratio: 0.3,
                isl_mean: 100,
                osl_mean: 50
            })
        );
        // vLLM window [70, 130]: mean 100.
        assert_eq!(r.mean_isl(550.0), 100.0);
        assert_eq!(shaping(&[]).unwrap().mean_isl(550.0), 550.0);
        let j = shaping(&[
            "--synthetic-input-tokens-mean",
            "100",
            "--osl",
            "50",
            "--random-range-ratio",
            r#"{"input": 0.1, "output": 0.5}"#,
        ])
        .unwrap();
        assert_eq!(
            j.range_ratio.map(|r| (r.isl_ratio, r.osl_ratio)),
            Some((0.1, 0.5))
        );
        let w = shaping(&[
            "--cache-bust",
            "warmup_isolation_system",
            "--system-prompt",
            "Be brief.",
        ])
        .unwrap();
        assert_eq!(w.cache_bust, CacheBustTarget::WarmupIsolationSystem);
    }

    /// One case per rejection message.
    #[test]
    fn rejections() {
        assert_eq!(
            err(&["--random-corpus-style", "tgi"]),
            "--random-corpus-style: 'tgi' is not one of: vllm, sglang"
        );
        assert_eq!(
            err(&["--seq-dist", "128,16:50;512,32:40"]),
            "--seq-dist: Failed to parse distribution string '128,16:50;512,32:40': \
             Probabilities must sum to 100.0, got 90.000000. Pairs: ['(128,16):50.0%', \
             '(512,32):40.0%']"
        );
        assert!(err(&["--seq-dist", "9000000|900000,16:100"])
            .starts_with("--seq-dist: an ISL of 12600000 (mean + 4 stddev) is more than"));
        let rr = |extra: &[&str]| {
            let mut a = vec!["--random-range-ratio", "0.3"];
            a.extend_from_slice(extra);
            err(&a)
        };
        assert_eq!(
            rr(&["--isl", "100", "--osl", "5", "--seq-dist", "1,1:100"]),
            "--random-range-ratio: cannot be combined with --seq-dist; use one or the other"
        );
        assert_eq!(
            rr(&["--osl", "5"]),
            "--random-range-ratio: requires --isl to be set explicitly. There is no safe \
             default when a ratio window is requested."
        );
        assert_eq!(
            rr(&["--isl", "550"]),
            "--random-range-ratio: requires --osl to be set explicitly. There is no safe \
             default when a ratio window is requested."
        );
        assert_eq!(
            rr(&["--isl", "0.5", "--osl", "5"]),
            "--random-range-ratio: requires --isl >= 1, got 0. A zero-token input window has \
             no prompt to scale."
        );
        assert_eq!(
            rr(&["--isl", "5", "--osl", "0.5"]),
            "--random-range-ratio: requires --osl >= 1, got 0. A zero-token output window \
             would request no generation."
        );
        assert_eq!(
            rr(&["--isl", "5", "--osl", "5", "--isl-stddev", "2"]),
            "--isl-stddev: cannot be combined with --random-range-ratio; the ratio window \
             already controls ISL variance"
        );
        assert_eq!(
            rr(&["--isl", "5", "--osl", "5", "--osl-stddev", "2"]),
            "--osl-stddev: cannot be combined with --random-range-ratio; the ratio window \
             already controls OSL variance"
        );
        assert_eq!(
            err(&["--isl", "5", "--osl", "5", "--random-range-ratio", "1.0"]),
            "--random-range-ratio: invalid value: ISL range_ratio must be in [0.0, 1.0), got 1"
        );
        assert_eq!(
            err(&["--isl", "5", "--osl", "5", "--random-range-ratio", " "]),
            "--random-range-ratio: value cannot be empty"
        );
        assert!(err(&[
            "--isl",
            "5",
            "--osl",
            "5",
            "--random-corpus-style",
            "sglang",
            "--random-range-ratio",
            r#"{"input": 0.3, "output": 0.3}"#
        ])
        .contains("single ratio"));
        assert_eq!(
            err(&["--isl", "2", "--osl", "5", "--random-range-ratio", "0.9"]),
            "--random-range-ratio: 0.9 with --isl 2 produces a minimum input of 0 tokens. \
             Increase --isl, add --prompt-prefix-length, or lower --random-range-ratio so the \
             minimum is at least 1 token"
        );
        assert!(
            shaping(&[
                "--isl",
                "2",
                "--osl",
                "5",
                "--random-range-ratio",
                "0.9",
                "--num-prefix-prompts",
                "2",
                "--prefix-prompt-length",
                "4"
            ])
            .is_ok(),
            "a prefix carries the shortest prompt"
        );
        assert!(err(&[
            "--isl",
            "9000000",
            "--osl",
            "5",
            "--random-range-ratio",
            "0.5"
        ])
        .contains("more than this client allows"));
        assert_eq!(
            err(&["--prompt-corpus", "poems"]),
            "--prompt-corpus: 'poems' is not one of: sonnet, coding, random"
        );
        assert!(err(&[
            "--prompt-corpus",
            "random",
            "--input-file",
            "x.jsonl",
            "--custom-dataset-type",
            "mooncake_trace"
        ])
        .starts_with(
            "--prompt-corpus: 'random' is not compatible with --custom-dataset-type mooncake_trace"
        ));
        assert_eq!(
            err(&["--cache-bust", "everything"]),
            "--cache-bust: 'everything' is not one of: none, system_prefix, system_suffix, \
             first_turn_prefix, first_turn_suffix, warmup_isolation_system, \
             warmup_isolation_first_turn"
        );
        assert_eq!(
            err(&[
                "--cache-bust",
                "system_prefix",
                "--endpoint-type",
                "completions"
            ]),
            "--cache-bust: not supported by endpoint type 'completions' (no place for a \
             marker); supported: chat, responses, messages"
        );
        assert!(err(&["--cache-bust", "warmup_isolation_system"])
            .starts_with("--cache-bust: warmup_isolation_system requires a system prompt"));
    }
}
