//! The nine graders of AIPerf 0.13 (`accuracy_grader` plugins).

use crate::Grade;

pub mod choice_extract;
pub mod code_execution;
pub mod exact_match;
pub mod gsm8k;
pub mod lighteval;
pub mod math;
pub mod mmlu_pro;
pub mod multiple_choice;
pub mod symbolic;

/// `--accuracy-grader` values, in AIPerf's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraderKind {
    ExactMatch,
    Math,
    MultipleChoice,
    CodeExecution,
    LightevalExpr,
    LightevalLatex,
    LightevalGpqa,
    LightevalGsm8k,
    MmluPro,
}

impl GraderKind {
    pub const ALL: [GraderKind; 9] = [
        Self::ExactMatch,
        Self::Math,
        Self::MultipleChoice,
        Self::CodeExecution,
        Self::LightevalExpr,
        Self::LightevalLatex,
        Self::LightevalGpqa,
        Self::LightevalGsm8k,
        Self::MmluPro,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ExactMatch => "exact_match",
            Self::Math => "math",
            Self::MultipleChoice => "multiple_choice",
            Self::CodeExecution => "code_execution",
            Self::LightevalExpr => "lighteval_expr",
            Self::LightevalLatex => "lighteval_latex",
            Self::LightevalGpqa => "lighteval_gpqa",
            Self::LightevalGsm8k => "lighteval_gsm8k",
            Self::MmluPro => "mmlu_pro",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn names() -> String {
        Self::ALL.map(|k| k.name()).join(", ")
    }

    /// A grader of this kind.
    pub fn grader(self) -> Box<dyn Grader> {
        match self {
            Self::ExactMatch => Box::new(exact_match::ExactMatch),
            Self::Math => Box::new(math::MathGrader),
            Self::MultipleChoice => Box::new(multiple_choice::MultipleChoice),
            Self::CodeExecution => Box::new(code_execution::CodeExecution::default()),
            Self::LightevalExpr => Box::new(lighteval::Expr),
            Self::LightevalLatex => Box::new(lighteval::Latex),
            Self::LightevalGpqa => Box::new(lighteval::Gpqa),
            Self::LightevalGsm8k => Box::new(gsm8k::Gsm8k),
            Self::MmluPro => Box::new(mmlu_pro::MmluPro),
        }
    }
}

/// Scores one model output against one ground truth. Pure except `code_execution`, which runs
/// a child process; graders run on a thread of their own, never on the request path.
pub trait Grader: Send + Sync {
    fn kind(&self) -> GraderKind;

    /// The answer taken from `response` (AIPerf's `extract_answer`).
    fn extract(&self, response: &str) -> String;

    /// AIPerf's `grade`.
    fn grade(&self, response: &str, ground_truth: &str) -> Grade;
}

/// Python's `str(bool)`, for reasoning strings.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Test helpers shared by the graders' tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::Grader;

    /// One case of a grader's table: (response, ground truth, correct, unparsed, extracted).
    pub(crate) type Case = (&'static str, &'static str, bool, bool, &'static str);

    /// Grades every case with `g` and checks `correct`, `unparsed` and the extracted answer
    /// (both from `grade` and from `extract`), and that confidence is 1.0 exactly when
    /// correct; a table holds at least 30 cases.
    pub(crate) fn check_table(g: &dyn Grader, rows: &[Case]) {
        for (resp, gold, correct, unparsed, extracted) in rows {
            let r = g.grade(resp, gold);
            assert_eq!(
                (r.correct, r.unparsed, r.extracted.as_str()),
                (*correct, *unparsed, *extracted),
                "response {resp:?} gold {gold:?}"
            );
            assert_eq!(g.extract(resp), *extracted);
            assert_eq!(r.confidence, if *correct { 1.0 } else { 0.0 });
        }
        assert!(rows.len() >= 30);
    }
}
