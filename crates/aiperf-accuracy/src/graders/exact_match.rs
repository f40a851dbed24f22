//! `exact_match` (AIPerf's `graders/exact_match.py`, `ExactMatchGrader`): DeepEval's
//! `Scorer.exact_match_score`, byte for byte, as the trt-llm benchmark recipe scores HellaSwag
//! and BigBench-Hard:
//!
//! ```text
//! if not prediction: return 0
//! return 1 if prediction.strip() == target.strip() else 0
//! ```
//!
//! Strict and case-sensitive, no normalisation beyond Python's `strip()`: "The answer is A."
//! scores 0 against "A". An empty (or whitespace-only) response is unparsed unless the gold is
//! empty too; it is never correct.

use super::choice_extract::py_strip;
use super::{py_bool, Grader, GraderKind};
use crate::Grade;

pub struct ExactMatch;

impl Grader for ExactMatch {
    fn kind(&self) -> GraderKind {
        GraderKind::ExactMatch
    }

    fn extract(&self, response: &str) -> String {
        py_strip(response).to_string()
    }

    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        let pred = py_strip(response).to_string();
        let gold = py_strip(ground_truth).to_string();
        let unparsed = pred.is_empty() && !gold.is_empty();
        let correct = !pred.is_empty() && pred == gold;
        let reasoning = format!(
            "strict equality: stripped pred '{pred}' vs gold '{gold}'; match={}{}",
            py_bool(correct),
            if unparsed { " (empty response)" } else { "" },
        );
        Grade::scored(correct, unparsed, reasoning, pred, gold)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_table, Case};
    use super::*;

    /// (response, ground truth, correct, unparsed, extracted)
    const ROWS: &[Case] = &[
        ("A", "A", true, false, "A"),
        ("  A  ", "A", true, false, "A"),
        ("A", "  A\n", true, false, "A"),
        ("\n\tA\r\n", "A", true, false, "A"),
        ("\u{a0}A\u{3000}", "A", true, false, "A"),
        ("\u{1c}A\u{1f}", "A", true, false, "A"), // Python strips U+001C..U+001F too
        ("\u{200b}A", "A", false, false, "\u{200b}A"), // zero-width space is not whitespace
        // Empty responses: unparsed unless the gold is empty too; never correct.
        ("", "A", false, true, ""),
        ("   ", "A", false, true, ""),
        ("\n\n", "(B)", false, true, ""),
        ("", "", false, false, ""),
        ("  ", "  ", false, false, ""),
        ("A", "", false, false, "A"),
        // Case-sensitive.
        ("a", "A", false, false, "a"),
        ("True", "true", false, false, "True"),
        ("(A)", "(a)", false, false, "(A)"),
        // No normalisation: punctuation, wording, inner whitespace all matter.
        ("Answer is (B).", "(B)", false, false, "Answer is (B)."),
        ("(B)", "(B)", true, false, "(B)"),
        ("B", "(B)", false, false, "B"),
        ("(B).", "(B)", false, false, "(B)."),
        ("A.", "A", false, false, "A."),
        ("**A**", "A", false, false, "**A**"),
        ("24", "24.0", false, false, "24"),
        ("1,234", "1234", false, false, "1,234"),
        ("$5", "5", false, false, "$5"),
        ("-3", "-3", true, false, "-3"),
        ("not  valid", "not valid", false, false, "not  valid"),
        ("False\n", "False", true, false, "False"),
        ("valid\nmore", "valid", false, false, "valid\nmore"),
        ("[1, 2]", "[1, 2]", true, false, "[1, 2]"),
        ("café", "cafe\u{301}", false, false, "café"), // no Unicode normalisation
        ("  Yes\tNo  ", "Yes\tNo", true, false, "Yes\tNo"),
    ];

    #[test]
    fn table() {
        check_table(&ExactMatch, ROWS);
    }

    #[test]
    fn reasoning_strings() {
        let g = ExactMatch;
        let r = g.grade(" (A) ", "(A)\n");
        assert_eq!(
            r.reasoning,
            "strict equality: stripped pred '(A)' vs gold '(A)'; match=True"
        );
        assert_eq!(r.ground_truth, "(A)");
        let r = g.grade("  ", "B");
        assert_eq!(
            r.reasoning,
            "strict equality: stripped pred '' vs gold 'B'; match=False (empty response)"
        );
        let r = g.grade("", "");
        assert_eq!(
            r.reasoning,
            "strict equality: stripped pred '' vs gold ''; match=False"
        );
        assert_eq!(g.kind(), GraderKind::ExactMatch);
    }
}
