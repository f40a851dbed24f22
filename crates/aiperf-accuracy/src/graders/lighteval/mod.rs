//! The lighteval-backed graders of AIPerf 0.13 (`graders/lighteval_grader.py`): AIME24/25
//! (`lighteval_expr`), MATH-500 (`lighteval_latex`) and GPQA-Diamond (`lighteval_gpqa`).
//!
//! AIPerf calls lighteval 0.13's `MultilingualExtractiveMatchMetric`; this module ports its
//! extraction (regex cascade by priority, `extract.rs`) and latex2sympy2's normalisation
//! (`normalize.rs`) onto a small engine with Python `re` semantics (`pyre.rs`), so the
//! patterns stay verbatim, and leaves the mathematical comparison to
//! [`crate::graders::symbolic`]. The metric's score is 1.0 or
//! 0.0; AIPerf counts a score above 0.5 as correct.

mod extract;
mod normalize;
mod pyre;

use extract::{any_equal, Extractor, Value};

use super::{Grader, GraderKind};
use crate::Grade;

/// AIPerf's `_CORRECTNESS_THRESHOLD`.
const THRESHOLD: f64 = 0.5;

/// `lighteval_expr` (`expr_gold_metric`): AIME24 and AIME25, gold a bare expression.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expr;

/// `lighteval_latex` (`latex_gold_metric`): MATH-500, gold a full solution with `\boxed{}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latex;

/// `lighteval_gpqa` (`gpqa_metric`): GPQA-Diamond, gold one letter A-D.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gpqa;

/// The metric's score: 1.0 when any extracted gold equals any extracted prediction.
/// A gold that yields nothing is compared as its raw text (lighteval's fallback).
fn score(
    response: &str,
    gold: &str,
    gold_extractor: &Extractor,
    pred_extractor: &Extractor,
) -> f64 {
    let preds = pred_extractor.extract(response);
    let mut golds = gold_extractor.extract(gold);
    if golds.is_empty() {
        golds = vec![Value::Text(gold.to_string())];
    }
    if any_equal(&golds, &preds) {
        1.0
    } else {
        0.0
    }
}

/// Python's `repr` of a float score (`1.0`, `0.0`, `0.25`).
fn py_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// AIPerf's `GradingResult` for a score (`None`: the metric raised).
fn grade_from_score(class: &str, score: Option<f64>, response: &str, ground_truth: &str) -> Grade {
    let shown = score.map_or_else(|| "None".to_string(), py_float);
    let raised = if score.is_none() {
        " (raised exception)"
    } else {
        ""
    };
    Grade {
        correct: score.is_some_and(|s| s > THRESHOLD),
        unparsed: score.is_none(),
        confidence: score.unwrap_or(0.0),
        reasoning: format!("lighteval {class}: score={shown} (threshold {THRESHOLD}){raised}"),
        extracted: response.trim().to_string(),
        ground_truth: ground_truth.trim().to_string(),
    }
}

/// The grade of a math answer (`Expr`, `Latex`): the prediction extracted as lighteval's
/// math prediction, the gold by `gold_extractor`.
fn math_grade(
    class: &str,
    gold_extractor: &Extractor,
    response: &str,
    ground_truth: &str,
) -> Grade {
    let s = score(
        response,
        ground_truth,
        gold_extractor,
        extract::math_prediction(),
    );
    grade_from_score(class, Some(s), response, ground_truth)
}

impl Grader for Expr {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalExpr
    }

    /// lighteval extracts internally; AIPerf reports the trimmed response.
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }

    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        math_grade(
            "LightevalExprGrader",
            extract::expr_gold(),
            response,
            ground_truth,
        )
    }
}

impl Grader for Latex {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalLatex
    }

    /// lighteval extracts internally; AIPerf reports the trimmed response.
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }

    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        math_grade(
            "LightevalLatexGrader",
            extract::latex_gold(),
            response,
            ground_truth,
        )
    }
}

impl Grader for Gpqa {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalGpqa
    }

    /// lighteval extracts internally; AIPerf reports the trimmed response.
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }

    /// The gold must be one letter A-D once trimmed and upper-cased; AIPerf raises otherwise,
    /// which surfaces as an unparsed grade with score `None`.
    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        let letter = ground_truth.trim().to_uppercase();
        let s = matches!(letter.as_str(), "A" | "B" | "C" | "D")
            .then(|| score(response, &letter, extract::letters(), extract::letters()));
        grade_from_score("LightevalGPQAGrader", s, response, ground_truth)
    }
}

#[cfg(test)]
mod tests;
