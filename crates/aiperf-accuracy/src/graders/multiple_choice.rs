//! `multiple_choice` (AIPerf's `graders/multiple_choice.py`, `MultipleChoiceGrader`): an A-D
//! letter, graded as lighteval's `ExactMatches(strip_strings=True)` on the first line of the
//! output (lighteval stops MMLU generation at `\n`).
//!
//! The prediction is taken by the first of these that applies:
//!
//! 1. the first line, stripped, is a bare `A`-`D`: clean;
//! 2. anywhere, the last `answer is X` / `answer is (X)` (tier 1 of the shared cascade): clean,
//!    since that is the requested chain-of-thought format;
//! 3. anywhere, the last `Answer: X` (tier 2): unparsed;
//! 4. the first lone A-D letter of the first line: unparsed;
//! 5. the last lone A-D letter of the whole text (tier 3): unparsed;
//! 6. the stripped first line itself (never a bare letter, so never correct): unparsed.
//!
//! Steps 2 and 3 come before 4 because chain-of-thought output often echoes the options
//! ("A. 0, B. 4, ...") on its first line.

use super::choice_extract::{
    extract_choice_letter, first_lone_letter, grade_letter, is_bare_letter, stripped_first_line,
    ChoiceTier, LetterWording, LETTERS_ABCD,
};
use super::{Grader, GraderKind};
use crate::Grade;

/// `first-line-of-response extracted to 'B' (regex fallback); ground_truth stripped to 'B';
/// match=True`.
const WORDING: LetterWording = LetterWording {
    extracted: "first-line-of-response extracted to",
    fallback: " (regex fallback)",
    gold: "ground_truth stripped to",
};

pub struct MultipleChoice;

impl MultipleChoice {
    /// AIPerf's `_extract_with_flag`: (answer, unparsed).
    fn extract_with_flag(response: &str) -> (String, bool) {
        let first_line = stripped_first_line(response);
        if is_bare_letter(first_line, LETTERS_ABCD) {
            return (first_line.to_string(), false);
        }
        let (letter, tier) = extract_choice_letter(response, LETTERS_ABCD);
        match tier {
            ChoiceTier::AnswerIs => return (letter, false),
            ChoiceTier::AnswerColon => return (letter, true),
            _ => {}
        }
        if let Some(c) = first_lone_letter(first_line, LETTERS_ABCD) {
            return (c.to_string(), true);
        }
        if !letter.is_empty() {
            return (letter, true);
        }
        (first_line.to_string(), true)
    }
}

impl Grader for MultipleChoice {
    fn kind(&self) -> GraderKind {
        GraderKind::MultipleChoice
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
        // A bare letter on the first line: clean.
        ("B", "B", true, false, "B"),
        ("  B  ", "B", true, false, "B"),
        ("B\n\nQuestion: next one", "B", true, false, "B"),
        (" B\r\nmore", " B ", true, false, "B"),
        ("C", "B", false, false, "C"),
        ("B", " B\n", true, false, "B"),
        // Empty and whitespace-only output: nothing extracted, unparsed.
        ("", "A", false, true, ""),
        ("   ", "A", false, true, ""),
        ("\n\n", "A", false, true, ""),
        ("", "", false, true, ""),
        // "The answer is (X)" anywhere is a clean parse, the last one wins.
        ("The answer is (B).", "B", true, false, "B"),
        ("The answer is B", "B", true, false, "B"),
        ("A. 0, B. 4, C. 2\nthe answer is (C)", "C", true, false, "C"),
        ("answer is A\nno, answer is (D)", "D", true, false, "D"),
        ("the answer is (B) and Answer: C", "B", true, false, "B"),
        // "Answer: X" beats the echoed options of the first line, but is unparsed.
        ("A. 0, B. 4, C. 2, D. 6\nAnswer: B", "B", true, true, "B"),
        ("Answer: A\nhmm\nAnswer:  C", "C", true, true, "C"),
        // The first lone letter of the first line.
        ("**B**", "B", true, true, "B"),
        ("(B)", "B", true, true, "B"),
        ("B.", "B", true, true, "B"),
        ("B) 42", "B", true, true, "B"),
        ("I think B or C", "B", true, true, "B"), // first, not last, on the first line
        ("The Answer is B", "B", true, true, "B"),
        // Letters inside words never count.
        ("Bad", "B", false, true, "Bad"),
        ("CAB DAB", "C", false, true, "CAB DAB"),
        // Lowercase letters are not choices.
        ("b", "B", false, true, "b"),
        ("the answer is b", "B", false, true, "the answer is b"),
        // Out-of-range letters.
        ("E", "E", true, true, "E"), // the raw first line is the last fallback, and equals the gold
        ("The answer is (E)", "E", false, true, "The answer is (E)"),
        // Last lone letter of the whole text when the first line has none.
        ("Let me think.\nIt is not A.\nSo D", "D", true, true, "D"),
        ("Thinking...\nFLAG", "A", false, true, "Thinking..."),
        // Comparison is exact after stripping: the gold must be the bare letter.
        ("B", "(B)", false, false, "B"),
        ("B", "b", false, false, "B"),
        ("\u{a0}D\u{3000}", "D", true, false, "D"),
    ];

    #[test]
    fn table() {
        check_table(&MultipleChoice, ROWS);
    }

    #[test]
    fn reasoning_strings() {
        let g = MultipleChoice;
        let r = g.grade("B", " B ");
        assert_eq!(
            r.reasoning,
            "first-line-of-response extracted to 'B'; ground_truth stripped to 'B'; match=True"
        );
        assert_eq!(r.ground_truth, "B");
        let r = g.grade("**C**", "B");
        assert_eq!(
            r.reasoning,
            "first-line-of-response extracted to 'C' (regex fallback); ground_truth stripped to 'B'; match=False"
        );
        assert_eq!(g.kind(), GraderKind::MultipleChoice);
    }
}
