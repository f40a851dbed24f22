//! Placeholder: being written.

use super::{Grader, GraderKind};
use crate::Grade;

pub struct Expr;

impl Grader for Expr {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalExpr
    }
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }
    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        Grade { extracted: self.extract(response), ground_truth: ground_truth.to_string(), ..Default::default() }
    }
}

pub struct Latex;

impl Grader for Latex {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalLatex
    }
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }
    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        Grade { extracted: self.extract(response), ground_truth: ground_truth.to_string(), ..Default::default() }
    }
}

pub struct Gpqa;

impl Grader for Gpqa {
    fn kind(&self) -> GraderKind {
        GraderKind::LightevalGpqa
    }
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }
    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        Grade { extracted: self.extract(response), ground_truth: ground_truth.to_string(), ..Default::default() }
    }
}
