//! Per-turn (ISL, OSL) pairs drawn from a distribution instead of `--isl`/`--osl`:
//! `--seq-dist` (weighted pairs, each optionally normal around its means) and
//! `--random-range-ratio` (uniform integers in a window around the means, vLLM or SGLang
//! style). Parsing follows AIPerf 0.13's `DistributionParser` and ratio parsers, so every
//! string AIPerf accepts is accepted here and every one it refuses is refused.

use regex::Regex;
use serde_json::Value;

use crate::rng::Rng;

/// Largest ISL or OSL a pair may name, as `--isl` allows: a larger one is refused, never
/// allocated.
pub const MAX_PAIR_TOKENS: u64 = 10_000_000;

/// One weighted (ISL, OSL) pair of `--seq-dist`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqPair {
    pub isl: u32,
    pub isl_stddev: f64,
    pub osl: u32,
    pub osl_stddev: f64,
    /// Percent, 0 to 100.
    pub probability: f64,
}

/// A parsed `--seq-dist`: pairs whose probabilities sum to 100.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqDist {
    pairs: Vec<SeqPair>,
    /// Running sums of the probabilities as fractions, for the inverse-CDF draw.
    cumulative: Vec<f64>,
}

/// A number: digits with an optional fraction, or a leading-dot fraction (AIPerf's `_NUM`).
const NUM: &str = r"(?:\d+(?:\.\d+)?|\.\d+)";

fn pair_pattern(bracketed: bool) -> Regex {
    let body = format!(r"(\d+)(?:\|({NUM}))?\s*,\s*(\d+)(?:\|({NUM}))?");
    let pattern = if bracketed {
        format!(r"\(\s*{body}\s*\)\s*:\s*({NUM})")
    } else {
        format!(r"^{body}\s*:\s*({NUM})$")
    };
    Regex::new(&pattern).expect("the pair pattern is valid")
}

impl SeqDist {
    /// Parses any of AIPerf's three forms: `ISL[|SD],OSL[|SD]:PCT;...`, the bracket form
    /// `[(ISL[|SD],OSL[|SD]):PCT,...]`, or JSON `{"pairs": [{"isl", "osl", "prob",
    /// "isl_stddev"?, "osl_stddev"?}, ...]}`. The error is AIPerf's reason, one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("Distribution string cannot be empty".to_string());
        }
        let pairs = if trimmed.starts_with('{') {
            pairs_from_json(trimmed)
        } else if trimmed.starts_with('[') && trimmed.ends_with(']') {
            pairs_from_brackets(&trimmed[1..trimmed.len() - 1])
        } else {
            pairs_from_semicolons(trimmed)
        }
        .and_then(|pairs| {
            check_sum(&pairs)?;
            Ok(pairs)
        })
        .map_err(|e| format!("Failed to parse distribution string '{trimmed}': {e}"))?;
        let mut total = 0.0;
        let cumulative = pairs
            .iter()
            .map(|p| {
                total += p.probability / 100.0;
                total
            })
            .collect();
        Ok(Self { pairs, cumulative })
    }

    pub fn pairs(&self) -> &[SeqPair] {
        &self.pairs
    }

    /// One (ISL, OSL) draw: a pair by its probability (the first whose running sum exceeds a
    /// uniform number), then each length as given or, with a stddev, AIPerf's positive normal
    /// integer around it. Every draw comes from `rng`, in that order.
    pub fn sample(&self, rng: &mut Rng) -> (u32, u32) {
        let u = rng.uniform();
        let idx = self
            .cumulative
            .partition_point(|&c| c <= u)
            .min(self.pairs.len() - 1);
        let p = &self.pairs[idx];
        let isl = if p.isl_stddev > 0.0 {
            rng.positive_normal_integer(p.isl as f64, p.isl_stddev)
        } else {
            p.isl
        };
        let osl = if p.osl_stddev > 0.0 {
            rng.positive_normal_integer(p.osl as f64, p.osl_stddev)
        } else {
            p.osl
        };
        (isl, osl)
    }

    /// The largest ISL a draw can reasonably reach (mean + 4 sd of the longest pair), for the
    /// memory budget and the prompt-length limit.
    pub fn max_isl(&self) -> f64 {
        self.pairs
            .iter()
            .map(|p| p.isl as f64 + 4.0 * p.isl_stddev)
            .fold(0.0, f64::max)
    }
}

/// A pair from its matched parts, with AIPerf's per-pair checks.
fn pair(
    isl: &str,
    isl_sd: Option<&str>,
    osl: &str,
    osl_sd: Option<&str>,
    prob: &str,
) -> Result<SeqPair, String> {
    let length = |s: &str, what: &str| -> Result<u32, String> {
        match s.parse::<u64>() {
            Ok(0) => Err(format!("{what} sequence length must be positive, got 0")),
            Ok(n) if n <= MAX_PAIR_TOKENS => Ok(n as u32),
            _ => Err(format!(
                "{what} sequence length {s} is more than this client allows ({MAX_PAIR_TOKENS})"
            )),
        }
    };
    let float =
        |s: Option<&str>| s.map_or(Ok(0.0), |s| s.parse::<f64>().map_err(|e| e.to_string()));
    checked(SeqPair {
        isl: length(isl, "Input")?,
        isl_stddev: float(isl_sd)?,
        osl: length(osl, "Output")?,
        osl_stddev: float(osl_sd)?,
        probability: float(Some(prob))?,
    })
}

/// AIPerf's `SequenceLengthPair` checks that the patterns cannot rule out.
fn checked(p: SeqPair) -> Result<SeqPair, String> {
    if !(0.0..=100.0).contains(&p.probability) {
        return Err(format!(
            "Probability must be in [0,100], got {}",
            p.probability
        ));
    }
    if !(p.isl_stddev >= 0.0 && p.isl_stddev.is_finite()) {
        return Err(format!(
            "Input sequence length stddev must be non-negative, got {}",
            p.isl_stddev
        ));
    }
    if !(p.osl_stddev >= 0.0 && p.osl_stddev.is_finite()) {
        return Err(format!(
            "Output sequence length stddev must be non-negative, got {}",
            p.osl_stddev
        ));
    }
    Ok(p)
}

fn pairs_from_semicolons(text: &str) -> Result<Vec<SeqPair>, String> {
    let re = pair_pattern(false);
    let mut pairs = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let c = re.captures(part).ok_or_else(|| {
            format!(
                "Invalid pair format: '{part}'. Expected 'ISL[|ISL_STDDEV],OSL[|OSL_STDDEV]:PROB'"
            )
        })?;
        let g = |i: usize| c.get(i).map(|m| m.as_str());
        pairs.push(pair(&c[1], g(2), &c[3], g(4), &c[5])?);
    }
    if pairs.is_empty() {
        return Err("No valid pairs found in semicolon format".to_string());
    }
    Ok(pairs)
}

/// Like AIPerf, every `(ISL,OSL):PCT` group inside the brackets counts and text between
/// groups is skipped.
fn pairs_from_brackets(inner: &str) -> Result<Vec<SeqPair>, String> {
    let re = pair_pattern(true);
    let pairs = re
        .captures_iter(inner)
        .map(|c| {
            let g = |i: usize| c.get(i).map(|m| m.as_str());
            pair(&c[1], g(2), &c[3], g(4), &c[5])
        })
        .collect::<Result<Vec<_>, _>>()?;
    if pairs.is_empty() {
        return Err("No valid pairs found in bracket format".to_string());
    }
    Ok(pairs)
}

fn pairs_from_json(text: &str) -> Result<Vec<SeqPair>, String> {
    let data: Value =
        serde_json::from_str(text).map_err(|e| format!("Invalid JSON format: {e}"))?;
    let Some(list) = data.get("pairs") else {
        return Err("JSON format must contain 'pairs' key".to_string());
    };
    let Some(list) = list.as_array() else {
        return Err("'pairs' must be a list".to_string());
    };
    let mut pairs = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(format!("Pair {i} is not an object"));
        };
        let missing: Vec<&str> = ["isl", "osl", "prob"]
            .into_iter()
            .filter(|k| !obj.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(format!("Pair {i} missing required keys: {missing:?}"));
        }
        let number = |key: &str| -> Result<Option<f64>, String> {
            match obj.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| format!("Pair {i}: '{key}' must be a number, got {v}")),
            }
        };
        // Python's int() truncates toward zero.
        let length = |key: &str, what: &str| -> Result<u32, String> {
            let v = number(key)?.unwrap_or(0.0).trunc();
            if v <= 0.0 {
                Err(format!("{what} sequence length must be positive, got {v}"))
            } else if v > MAX_PAIR_TOKENS as f64 {
                Err(format!(
                    "{what} sequence length {v} is more than this client allows ({MAX_PAIR_TOKENS})"
                ))
            } else {
                Ok(v as u32)
            }
        };
        pairs.push(checked(SeqPair {
            isl: length("isl", "Input")?,
            osl: length("osl", "Output")?,
            probability: number("prob")?.unwrap_or(0.0),
            isl_stddev: number("isl_stddev")?.unwrap_or(0.0),
            osl_stddev: number("osl_stddev")?.unwrap_or(0.0),
        })?);
    }
    if pairs.is_empty() {
        return Err("Distribution must contain at least one sequence length pair".to_string());
    }
    Ok(pairs)
}

/// Probabilities are percentages summing to 100 (numpy's `isclose`, rtol = atol = 1e-6).
fn check_sum(pairs: &[SeqPair]) -> Result<(), String> {
    let total: f64 = pairs.iter().map(|p| p.probability).sum();
    if (total - 100.0).abs() <= 1e-6 + 1e-6 * 100.0 {
        Ok(())
    } else {
        let listed: Vec<String> = pairs.iter().map(|p| format!("'{p}'")).collect();
        Err(format!(
            "Probabilities must sum to 100.0, got {total:.6}. Pairs: [{}]",
            listed.join(", ")
        ))
    }
}

/// AIPerf's pair notation: `(ISL,OSL):PCT%`, or `(ISL|SD,OSL|SD):PCT%` with a stddev.
impl std::fmt::Display for SeqPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.isl_stddev > 0.0 || self.osl_stddev > 0.0 {
            write!(
                f,
                "({}|{:?},{}|{:?}):{:?}%",
                self.isl, self.isl_stddev, self.osl, self.osl_stddev, self.probability
            )
        } else {
            write!(f, "({},{}):{:?}%", self.isl, self.osl, self.probability)
        }
    }
}

/// `--random-corpus-style`: which benchmark tool's conventions `--random-range-ratio` and the
/// `random` corpus follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RandomCorpusStyle {
    /// `vllm bench serve`: symmetric window, special tokens left out of the random pool.
    #[default]
    Vllm,
    /// `sglang.bench_serving --dataset-name random-ids`: window `[max(1, int(m·r)), m]`, the
    /// whole vocabulary as the random pool.
    Sglang,
}

impl RandomCorpusStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vllm => "vllm",
            Self::Sglang => "sglang",
        }
    }
}

/// Parses `--random-range-ratio` into (ISL ratio, OSL ratio) with the style's rules: vLLM takes
/// a float for both or `{"input": r, "output": r}`, each in [0, 1); SGLang only a float, in
/// [0, 1].
pub fn parse_range_ratio(text: &str, style: RandomCorpusStyle) -> Result<(f64, f64), String> {
    let value = text.trim();
    if value.is_empty() {
        return Err("value cannot be empty".to_string());
    }
    let (input, output) = match (value.parse::<f64>(), style) {
        (Ok(r), _) => (r, r),
        (Err(_), RandomCorpusStyle::Vllm) => ratios_from_json(value)?,
        (Err(_), RandomCorpusStyle::Sglang) => {
            return Err(match serde_json::from_str::<Value>(value) {
                Ok(Value::Object(_)) => "SGLang corpus style applies a single ratio to both ISL \
                                         and OSL; provide a plain float instead (e.g. 0.3)"
                    .to_string(),
                _ => format!("must be a plain float for SGLang corpus style, got '{value}'"),
            })
        }
    };
    match style {
        RandomCorpusStyle::Vllm => {
            for (what, r) in [("ISL", input), ("OSL", output)] {
                if !(r.is_finite() && (0.0..1.0).contains(&r)) {
                    return Err(format!("{what} range_ratio must be in [0.0, 1.0), got {r}"));
                }
            }
        }
        RandomCorpusStyle::Sglang => {
            if !(input.is_finite() && (0.0..=1.0).contains(&input)) {
                return Err(format!("range_ratio must be in [0.0, 1.0], got {input}"));
            }
        }
    }
    Ok((input, output))
}

fn ratios_from_json(value: &str) -> Result<(f64, f64), String> {
    let shape = || {
        format!("must be a float or a JSON object with 'input' and 'output' keys, got '{value}'")
    };
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(value) else {
        return Err(shape());
    };
    let missing: Vec<&str> = ["input", "output"]
        .into_iter()
        .filter(|k| !obj.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(format!("JSON object missing keys: {missing:?}"));
    }
    let mut extra: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "input" && *k != "output")
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        return Err(format!("JSON object has unexpected keys: {extra:?}"));
    }
    let get = |k: &str| {
        obj[k]
            .as_f64()
            .ok_or_else(|| format!("'{k}' must be a number, got {}", obj[k]))
    };
    Ok((get("input")?, get("output")?))
}

/// The inclusive integer windows `--random-range-ratio` draws ISL and OSL from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeWindow {
    pub style: RandomCorpusStyle,
    pub isl: (u32, u32),
    pub osl: (u32, u32),
    /// SGLang style: special tokens taken off each drawn ISL (vLLM style takes them off the
    /// mean before the window instead).
    subtract_after: u32,
}

impl RangeWindow {
    /// The windows for the means and ratios. vLLM: `[floor(m'(1-r)), ceil(m'(1+r))]` with
    /// `m' = max(0, isl - special)`, OSL at least 1. SGLang: `[max(1, int(m·r)), m]`.
    pub fn new(
        style: RandomCorpusStyle,
        isl_mean: u32,
        osl_mean: u32,
        (isl_ratio, osl_ratio): (f64, f64),
        special_tokens: u32,
    ) -> Self {
        match style {
            RandomCorpusStyle::Vllm => {
                let m = isl_mean.saturating_sub(special_tokens) as f64;
                let o = osl_mean as f64;
                Self {
                    style,
                    isl: (
                        (m * (1.0 - isl_ratio)).floor().max(0.0) as u32,
                        (m * (1.0 + isl_ratio)).ceil() as u32,
                    ),
                    osl: (
                        (o * (1.0 - osl_ratio)).floor().max(1.0) as u32,
                        (o * (1.0 + osl_ratio)).ceil().max(1.0) as u32,
                    ),
                    subtract_after: 0,
                }
            }
            RandomCorpusStyle::Sglang => Self {
                style,
                isl: (((isl_mean as f64 * isl_ratio) as u32).max(1), isl_mean),
                osl: (((osl_mean as f64 * osl_ratio) as u32).max(1), osl_mean),
                subtract_after: special_tokens,
            },
        }
    }

    /// One (ISL, OSL) draw, each uniform over its window (ISL first).
    pub fn sample(&self, rng: &mut Rng) -> (u32, u32) {
        let mut uniform = |(lo, hi): (u32, u32)| lo + rng.below((hi - lo) as u64 + 1) as u32;
        let isl = uniform(self.isl);
        let osl = uniform(self.osl);
        let isl = match self.style {
            RandomCorpusStyle::Vllm => isl,
            RandomCorpusStyle::Sglang => isl.saturating_sub(self.subtract_after).max(1),
        };
        (isl, osl)
    }
}

/// Where a synthetic turn's (ISL, OSL) come from when not from `--isl`/`--osl`.
#[derive(Debug, Clone, PartialEq)]
pub enum LengthSampler {
    Distribution(SeqDist),
    Range(RangeWindow),
    /// `--isl-distribution` (and `--osl-distribution`; without it the OSL comes from `--osl`).
    Drawn {
        isl: crate::length_dist::LengthDist,
        osl: Option<crate::length_dist::LengthDist>,
    },
}

impl LengthSampler {
    /// The named random stream AIPerf draws this sampler from.
    pub fn stream(&self) -> &'static str {
        match self {
            Self::Distribution(_) => "models.sequence.distribution",
            Self::Range(_) => "models.range_ratio.distribution",
            Self::Drawn { .. } => "dataset.prompt.distribution",
        }
    }

    /// One turn's ISL and, unless only the ISL is drawn, its OSL.
    pub fn sample(&self, rng: &mut Rng) -> (u32, Option<u32>) {
        match self {
            Self::Distribution(d) => {
                let (i, o) = d.sample(rng);
                (i, Some(o))
            }
            Self::Range(w) => {
                let (i, o) = w.sample(rng);
                (i, Some(o))
            }
            Self::Drawn { isl, osl } => {
                let i = isl.sample_int(rng);
                (i, osl.as_ref().map(|o| o.sample_int(rng)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (ISL, ISL sd, OSL, OSL sd, percent).
    type Pair = (u32, f64, u32, f64, f64);

    fn parse(s: &str) -> Result<Vec<Pair>, String> {
        SeqDist::parse(s).map(|d| {
            d.pairs()
                .iter()
                .map(|p| (p.isl, p.isl_stddev, p.osl, p.osl_stddev, p.probability))
                .collect()
        })
    }

    #[test]
    fn every_form_parses_to_the_same_pairs() {
        let want = vec![(256, 10.0, 128, 5.0, 40.0), (512, 0.0, 256, 0.0, 60.0)];
        assert_eq!(parse("256|10,128|5:40;512,256:60").unwrap(), want);
        assert_eq!(
            parse("  256|10 , 128|5 : 40 ; 512,256:60 ; ").unwrap(),
            want
        );
        assert_eq!(parse("[(256|10,128|5):40,(512,256):60]").unwrap(), want);
        assert_eq!(
            parse("[( 256|10 , 128|5 ) : 40, (512,256):60]").unwrap(),
            want
        );
        assert_eq!(
            parse(
                r#"{"pairs": [{"isl": 256, "isl_stddev": 10, "osl": 128, "osl_stddev": 5, "prob": 40},
                              {"isl": 512.9, "osl": 256, "prob": 60}]}"#
            )
            .unwrap(),
            want
        );
        assert_eq!(parse("128,16:.5;64,8:99.5").unwrap()[0].4, 0.5);
        assert_eq!(
            parse("100,10:100").unwrap(),
            vec![(100, 0.0, 10, 0.0, 100.0)]
        );
    }

    #[test]
    fn bad_strings_name_the_reason() {
        let err = |s: &str| parse(s).unwrap_err();
        assert_eq!(err("  "), "Distribution string cannot be empty");
        assert_eq!(
            err("256,128:40;512|2,256:50"),
            "Failed to parse distribution string '256,128:40;512|2,256:50': Probabilities must \
             sum to 100.0, got 90.000000. Pairs: ['(256,128):40.0%', '(512|2.0,256|0.0):50.0%']"
        );
        assert!(err("256,128").contains("Invalid pair format: '256,128'. Expected"));
        assert!(err("256,128:40;x:60").contains("Invalid pair format: 'x:60'"));
        assert!(err("0,128:100").contains("Input sequence length must be positive, got 0"));
        assert!(err("10,0:100").contains("Output sequence length must be positive, got 0"));
        assert!(err("10,5:50;10,5:-50").contains("Invalid pair format: '10,5:-50'"));
        assert!(err("10,5:150").contains("Probability must be in [0,100], got 150"));
        assert!(err("99999999999,5:100").contains("more than this client allows"));
        assert!(err("[]").contains("No valid pairs found in bracket format"));
        assert!(err(";;").contains("No valid pairs found in semicolon format"));
        assert!(err("{\"x\": 1}").contains("JSON format must contain 'pairs' key"));
        assert!(err("{\"pairs\": [{\"isl\": 5}]}")
            .contains("Pair 0 missing required keys: [\"osl\", \"prob\"]"));
        assert!(err("{bad").contains("Invalid JSON format"));
        assert!(
            err("{\"pairs\": [{\"isl\": 5, \"osl\": 5, \"prob\": 100, \"isl_stddev\": -1}]}")
                .contains("Input sequence length stddev must be non-negative, got -1")
        );
        assert!(err("{\"pairs\": []}").contains("at least one sequence length pair"));
        assert!(parse("1,2:100").is_ok());
    }

    /// Pair frequencies follow the probabilities; fixed pairs come back exactly.
    #[test]
    fn draws_follow_the_probabilities() {
        let d = SeqDist::parse("128,16:25;512,32:75").unwrap();
        let mut rng = Rng::derive(1, "models.sequence.distribution");
        let n = 20_000;
        let mut small = 0;
        for _ in 0..n {
            match d.sample(&mut rng) {
                (128, 16) => small += 1,
                (512, 32) => {}
                other => panic!("unexpected pair {other:?}"),
            }
        }
        // Binomial(20000, 0.25): sd = sqrt(20000 * 0.25 * 0.75) ≈ 61; 5 sd ≈ 306.
        assert!((small as i64 - 5000).abs() < 306, "{small}");
        let z = SeqDist::parse("100,50:0;200,60:100").unwrap();
        assert!(
            (0..500).all(|_| z.sample(&mut rng) == (200, 60)),
            "a 0 % pair is never drawn"
        );
        let sd = SeqDist::parse("100|10,50|5:100").unwrap();
        let draws: Vec<(u32, u32)> = (0..200).map(|_| sd.sample(&mut rng)).collect();
        assert!(draws.iter().any(|d| d.0 != 100) && draws.iter().any(|d| d.1 != 50));
    }

    #[test]
    fn range_ratio_strings() {
        use RandomCorpusStyle::*;
        assert_eq!(parse_range_ratio("0.3", Vllm), Ok((0.3, 0.3)));
        assert_eq!(
            parse_range_ratio(r#"{"input": 0.3, "output": 0.5}"#, Vllm),
            Ok((0.3, 0.5))
        );
        assert_eq!(parse_range_ratio("1", Sglang), Ok((1.0, 1.0)));
        let err = |s: &str, st| parse_range_ratio(s, st).unwrap_err();
        assert_eq!(err(" ", Vllm), "value cannot be empty");
        assert_eq!(
            err("1", Vllm),
            "ISL range_ratio must be in [0.0, 1.0), got 1"
        );
        assert_eq!(
            err(r#"{"input": 0.1, "output": 1.5}"#, Vllm),
            "OSL range_ratio must be in [0.0, 1.0), got 1.5"
        );
        assert_eq!(
            err("-0.1", Sglang),
            "range_ratio must be in [0.0, 1.0], got -0.1"
        );
        assert_eq!(
            err("nan", Vllm),
            "ISL range_ratio must be in [0.0, 1.0), got NaN"
        );
        assert!(err("abc", Vllm).starts_with("must be a float or a JSON object"));
        assert_eq!(
            err(r#"{"input": 0.1}"#, Vllm),
            "JSON object missing keys: [\"output\"]"
        );
        assert_eq!(
            err(r#"{"input": 0.1, "output": 0.1, "z": 1, "a": 2}"#, Vllm),
            "JSON object has unexpected keys: [\"a\", \"z\"]"
        );
        assert!(err(r#"{"input": 0.3, "output": 0.3}"#, Sglang).contains("single ratio"));
        assert!(err("abc", Sglang).starts_with("must be a plain float for SGLang"));
    }

    /// Windows worked out by hand from AIPerf's formulas.
    #[test]
    fn windows_and_draws() {
        use RandomCorpusStyle::*;
        // vLLM, ISL 100 - 1 special = 99: [floor(69.3), ceil(128.7)] = [69, 129];
        // OSL 50: [35, 65].
        let v = RangeWindow::new(Vllm, 100, 50, (0.3, 0.3), 1);
        assert_eq!((v.isl, v.osl), ((69, 129), (35, 65)));
        // SGLang, ISL 100: [int(30), 100]; OSL 50: [15, 50]; drawn ISL minus 1 special.
        let s = RangeWindow::new(Sglang, 100, 50, (0.3, 0.3), 1);
        assert_eq!((s.isl, s.osl), ((30, 100), (15, 50)));
        assert_eq!(RangeWindow::new(Sglang, 3, 2, (0.0, 0.0), 0).isl, (1, 3));
        assert_eq!(RangeWindow::new(Vllm, 10, 1, (0.5, 0.9), 0).osl, (1, 2));
        let mut rng = Rng::derive(3, "models.range_ratio.distribution");
        let (mut lo, mut hi) = (u32::MAX, 0);
        for _ in 0..5_000 {
            let (i, o) = v.sample(&mut rng);
            assert!((69..=129).contains(&i) && (35..=65).contains(&o));
            lo = lo.min(i);
            hi = hi.max(i);
            let (i, o) = s.sample(&mut rng);
            assert!((29..=99).contains(&i) && (15..=50).contains(&o), "{i} {o}");
        }
        assert_eq!((lo, hi), (69, 129), "both ends are reached");
    }
}
