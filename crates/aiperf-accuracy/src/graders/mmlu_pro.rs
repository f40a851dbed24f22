//! `mmlu_pro` (AIPerf's `graders/mmlu_pro.py`, `MMLUProGrader`): the final A-J letter of a
//! chain-of-thought answer, by TIGER-AI-Lab MMLU-Pro's cascade.
//!
//! A first line that is one bare A-J letter (non-CoT output) is a clean parse. Otherwise the
//! whole text goes through [`extract_choice_letter`]: only tier 1 (`answer is (X)`) is clean;
//! tiers 2 and 3, and finding nothing (an empty prediction, never correct), are unparsed.

use super::choice_extract::{
    extract_choice_letter, grade_letter, is_bare_letter, stripped_first_line, ChoiceTier,
    LetterWording, LETTERS_A_TO_J,
};
use super::{Grader, GraderKind};
use crate::Grade;

/// `extracted 'B' (fallback); ground_truth 'B'; match=True`.
const WORDING: LetterWording = LetterWording {
    extracted: "extracted",
    fallback: " (fallback)",
    gold: "ground_truth",
};

pub struct MmluPro;

impl MmluPro {
    /// AIPerf's `_extract`: (letter, unparsed).
    fn extract_with_flag(response: &str) -> (String, bool) {
        let first_line = stripped_first_line(response);
        if is_bare_letter(first_line, LETTERS_A_TO_J) {
            return (first_line.to_string(), false);
        }
        let (letter, tier) = extract_choice_letter(response, LETTERS_A_TO_J);
        (letter, tier != ChoiceTier::AnswerIs)
    }
}

impl Grader for MmluPro {
    fn kind(&self) -> GraderKind {
        GraderKind::MmluPro
    }

    fn extract(&self, response: &str) -> String {
        Self::extract_with_flag(response).0
    }

    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        let (pred, unparsed) = Self::extract_with_flag(response);
        grade_letter(pred, unparsed, ground_truth, &WORDING)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{check_table, Case};
    use super::*;

    /// (response, ground truth, correct, unparsed, extracted)
    const ROWS: &[Case] = &[
        // A bare A-J letter on the first line: clean.
        ("J", "J", true, false, "J"),
        ("  E  \nbecause...", "E", true, false, "E"),
        ("A", "B", false, false, "A"),
        ("\tI\r\n", "I", true, false, "I"),
        ("B", " B\n", true, false, "B"),
        // Out of range or lowercase bare letters go through the cascade.
        ("K", "K", false, true, ""),
        ("j", "J", false, true, ""),
        // Empty output.
        ("", "A", false, true, ""),
        ("  \n  ", "A", false, true, ""),
        ("", "", false, true, ""),
        // Tier 1: "answer is (X)", the last one, clean.
        ("The answer is (B).", "B", true, false, "B"),
        ("Step by step. The answer is (H)", "H", true, false, "H"),
        ("the answer is G", "G", true, false, "G"),
        ("answer is (A)? no: answer is (F).", "F", true, false, "F"),
        ("the answer is (F) but Answer: C", "F", true, false, "F"),
        ("A. 1\nB. 2\nThe answer is (C)", "C", true, false, "C"),
        ("The answer is (K)", "K", false, true, ""),
        ("The answer is (b)", "B", false, true, ""),
        // Tier 2: "Answer: X", the last one, a fallback.
        ("Answer: D", "D", true, true, "D"),
        ("answer:\n  E", "E", true, true, "E"),
        ("Answer: A\nWait.\nAnswer: I", "I", true, true, "I"),
        ("Answer: C\nAnswer: none", "C", true, true, "C"),
        // Tier 3: the last standalone letter, a fallback.
        ("I'd go with (C) over (D)", "D", true, true, "D"),
        ("Between B and J, J.", "J", true, true, "J"),
        ("The Answer is B", "B", true, true, "B"),
        ("ANSWER: C", "C", true, true, "C"),
        // Letters inside words never count (upstream's tier 3 would take "G" of "FLAG").
        ("FLAG", "G", false, true, ""),
        ("BIG HEAD", "D", false, true, ""),
        ("Option_A", "A", false, true, ""),
        // A multi-character first line is not a bare letter.
        ("A.", "A", true, true, "A"),
        ("(B)", "B", true, true, "B"),
        ("**J**", "J", true, true, "J"),
        // The gold is compared as given, after stripping.
        ("C", "(C)", false, false, "C"),
    ];

    #[test]
    fn table() {
        check_table(&MmluPro, ROWS);
    }

    #[test]
    fn reasoning_strings() {
        let g = MmluPro;
        let r = g.grade("The answer is (B).", " B ");
        assert_eq!(r.reasoning, "extracted 'B'; ground_truth 'B'; match=True");
        assert_eq!(r.ground_truth, "B");
        let r = g.grade("no idea", "B");
        assert_eq!(
            r.reasoning,
            "extracted '' (fallback); ground_truth 'B'; match=False"
        );
        let r = g.grade("Answer: D", "B");
        assert_eq!(
            r.reasoning,
            "extracted 'D' (fallback); ground_truth 'B'; match=False"
        );
        assert_eq!(g.kind(), GraderKind::MmluPro);
    }
}
