//! `lighteval_gsm8k` (AIPerf's `graders/gsm8k_grader.py`, `LightevalGSM8KGrader`): lighteval's
//! `quasi_exact_match_gsm8k`, i.e. `ExactMatches(strip_strings=True)` with `gsm8k_normalizer` on
//! both sides, with AIPerf's two deliberate deviations for chat models.
//!
//! * The gold is `gsm8k_normalizer(ground_truth.strip())`: the number after the first
//!   `#### `, commas removed, or `[invalid]` (then nothing is correct).
//! * The prediction is `gsm8k_normalizer(response)` when the response has a `#### <number>`
//!   marker (lighteval parity). Otherwise AIPerf falls back to the last number in the response
//!   (`-?[0-9][0-9,]*(?:\.[0-9]+)?`, commas removed) and flags it unparsed; a correct fallback
//!   is still correct. No number at all gives `[invalid]`, unparsed and wrong.
//! * The two are compared as floats within an absolute 1e-6 (`math.isclose(..., rel_tol=0,
//!   abs_tol=1e-6)`), so "24", "24.0" and "24.00" match; when either is not a float
//!   ("1.2.3", "."), as strings.
//!
//! Pure regex, no lighteval: AIPerf runs it without the `[accuracy]` extras.

use std::sync::LazyLock;

use regex::Regex;

use super::choice_extract::py_strip;
use super::{py_bool, Grader, GraderKind};
use crate::Grade;

/// lighteval's `INVALID_ANS`.
pub(crate) const INVALID_ANS: &str = "[invalid]";

/// lighteval's `ANS_RE`, `#### (\-?[0-9\.\,]+)`.
static GSM8K_ANS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#### (-?[0-9.,]+)").expect("valid regex"));

/// AIPerf's fallback `_NUMBER_RE`: optionally signed, thousands commas, optional decimals;
/// starts with a digit so it never matches a bare "." or ",".
static NUMBER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-?[0-9][0-9,]*(?:\.[0-9]+)?").expect("valid regex"));

/// AIPerf's `_NUMERIC_ABS_TOL`.
const NUMERIC_ABS_TOL: f64 = 1e-6;

/// lighteval's `gsm8k_normalizer` (byte for byte, as AIPerf ports it): the number after the
/// first `#### ` (exactly four `#` and one space), commas removed, else `[invalid]`.
pub(crate) fn gsm8k_normalizer(text: &str) -> String {
    match GSM8K_ANS_RE.captures(text) {
        Some(c) => c[1].replace(',', ""),
        None => INVALID_ANS.to_string(),
    }
}

/// AIPerf's `_extract_prediction`: (answer, used_fallback). The `####` marker when present,
/// else the last number, else `[invalid]` (also a fallback).
fn extract_prediction(response: &str) -> (String, bool) {
    let normalized = gsm8k_normalizer(response);
    if normalized != INVALID_ANS {
        return (normalized, false);
    }
    match NUMBER_RE.find_iter(response).last() {
        Some(m) => (m.as_str().replace(',', ""), true),
        None => (INVALID_ANS.to_string(), true),
    }
}

/// AIPerf's `_numbers_match`: `math.isclose(float(gold), float(pred), rel_tol=0.0,
/// abs_tol=1e-6)`, or string equality when either is not a float.
///
/// Both sides only ever hold `-`, digits and `.` here, where Rust's `f64` parsing accepts and
/// rejects exactly what Python's `float()` does ("5." and ".5" parse, "." and "1.2.3" do not),
/// both rounding correctly and both giving infinity past `f64::MAX`.
fn numbers_match(gold: &str, pred: &str) -> bool {
    match (gold.parse::<f64>(), pred.parse::<f64>()) {
        (Ok(a), Ok(b)) => {
            // math.isclose: equal (infinities included) is close; an infinity is close to
            // nothing else; otherwise |a - b| <= abs_tol.
            if a == b {
                return true;
            }
            if a.is_infinite() || b.is_infinite() {
                return false;
            }
            (a - b).abs() <= NUMERIC_ABS_TOL
        }
        _ => gold == pred,
    }
}

pub struct Gsm8k;

impl Grader for Gsm8k {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalGsm8k
    }

    fn extract(&self, response: &str) -> String {
        extract_prediction(response).0
    }

    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        let gold = gsm8k_normalizer(py_strip(ground_truth));
        let (pred, used_fallback) = extract_prediction(py_strip(response));
        let parseable = pred != INVALID_ANS;
        let unparsed = used_fallback || !parseable;
        let correct = parseable && gold != INVALID_ANS && numbers_match(&gold, &pred);
        let note = if !parseable {
            " (no number in response)"
        } else if used_fallback {
            " (no #### marker; used last-number fallback)"
        } else {
            ""
        };
        let reasoning = format!(
            "gsm8k quasi-exact-match: gold '{gold}' vs pred '{pred}'; match={}{note}",
            py_bool(correct),
        );
        Grade::scored(correct, unparsed, reasoning, pred, gold)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_table, Case};
    use super::*;

    const GOLD_72: &str = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n\
                           Natalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72";

    /// (response, ground truth, correct, unparsed, extracted)
    const ROWS: &[Case] = &[
        // The #### marker: lighteval parity, clean.
        ("48 + 24 = 72\n#### 72", GOLD_72, true, false, "72"),
        ("#### 72", "#### 72", true, false, "72"),
        ("#### 71", GOLD_72, false, false, "71"),
        ("#### 1,234", "#### 1234", true, false, "1234"),
        ("#### 1,234,567", "#### 1,234,567", true, false, "1234567"),
        ("#### -5", "#### -5", true, false, "-5"),
        ("#### 5", "#### -5", false, false, "5"),
        ("#### 24.0", "#### 24", true, false, "24.0"),
        ("#### 24.00", "#### 24", true, false, "24.00"),
        ("#### 72.", "#### 72", true, false, "72."), // the trailing period is in the class
        ("#### .5", "#### 0.5", true, false, ".5"),
        ("#### 3 and later #### 4", "#### 3", true, false, "3"), // the first marker wins
        ("##### 8", "#### 8", true, false, "8"),
        ("the answer is 9 #### 8", "#### 8", true, false, "8"), // the marker beats a later number
        // Malformed marker numbers compare as strings.
        ("#### 1.2.3", "#### 1.2.3", true, false, "1.2.3"),
        ("#### 1.2.3", "#### 1.23", false, false, "1.2.3"),
        ("#### .", "#### 5", false, false, "."),
        // No marker: the last number, a fallback (correct all the same).
        ("So the answer is 72.", GOLD_72, true, true, "72"),
        ("3 apples, then 5, so 8", "#### 8", true, true, "8"),
        ("The total is $1,234.", "#### 1234", true, true, "1234"),
        ("It costs $18.50 per day", "#### 18.5", true, true, "18.50"),
        ("It drops to -7 degrees", "#### -7", true, true, "-7"),
        ("24.0", "#### 24", true, true, "24.0"),
        ("It is 24.", "#### 24", true, true, "24"),
        ("###72", "#### 72", true, true, "72"), // not the marker's form
        ("####72", "#### 72", true, true, "72"),
        ("#### $72", "#### 72", true, true, "72"), // "$" breaks the marker
        ("1,2,3", "#### 123", true, true, "123"),
        ("3.14.15", "#### 15", true, true, "15"), // "3.14", then "15" after the lone "."
        ("5 - 3 = 2", "#### 2", true, true, "2"),
        ("0.0000001", "#### 0", true, true, "0.0000001"), // within 1e-6
        ("0.00001", "#### 0", false, true, "0.00001"),
        // No number at all.
        ("", "#### 72", false, true, INVALID_ANS),
        ("   \n ", "#### 72", false, true, INVALID_ANS),
        ("I don't know.", "#### 72", false, true, INVALID_ANS),
        ("#### x", "#### 72", false, true, INVALID_ANS),
        // A gold without a marker is invalid: nothing is correct.
        ("72", "72", false, true, "72"),
        ("#### 72", "The answer is 72", false, false, "72"),
    ];

    #[test]
    fn table() {
        check_table(&Gsm8k, ROWS);
    }

    #[test]
    fn normalizer() {
        assert_eq!(gsm8k_normalizer(GOLD_72), "72");
        assert_eq!(gsm8k_normalizer("#### 1,000.50"), "1000.50");
        assert_eq!(gsm8k_normalizer("#### -,5"), "-5");
        assert_eq!(gsm8k_normalizer("####  5"), INVALID_ANS);
        assert_eq!(gsm8k_normalizer("no marker 5"), INVALID_ANS);
    }

    #[test]
    fn numeric_comparison() {
        assert!(numbers_match("24", "24.000000"));
        assert!(numbers_match("-0", "0"));
        assert!(numbers_match("5.", "5"));
        assert!(!numbers_match("-", "5"));
        assert!(numbers_match("-", "-"));
        let huge = "9".repeat(400); // both overflow to inf, as in Python
        assert!(numbers_match(&huge, &huge));
        assert!(!numbers_match(&huge, &format!("-{huge}")));
        assert!(!numbers_match(&huge, "1"));
    }

    #[test]
    fn reasoning_strings() {
        let g = Gsm8k;
        let r = g.grade("#### 72", GOLD_72);
        assert_eq!(
            r.reasoning,
            "gsm8k quasi-exact-match: gold '72' vs pred '72'; match=True"
        );
        assert_eq!(r.ground_truth, "72");
        let r = g.grade("so 70", GOLD_72);
        assert_eq!(
            r.reasoning,
            "gsm8k quasi-exact-match: gold '72' vs pred '70'; match=False \
             (no #### marker; used last-number fallback)"
        );
        let r = g.grade("none", "nothing");
        assert_eq!(
            r.reasoning,
            "gsm8k quasi-exact-match: gold '[invalid]' vs pred '[invalid]'; match=False \
             (no number in response)"
        );
        assert_eq!(r.ground_truth, INVALID_ANS);
        assert_eq!(g.kind(), GraderKind::LightevalGsm8k);
    }
}
