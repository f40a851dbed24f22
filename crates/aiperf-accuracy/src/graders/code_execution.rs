//! Placeholder: being written.

use super::{Grader, GraderKind};
use crate::Grade;

#[derive(Default)]
pub struct CodeExecution;

impl Grader for CodeExecution {
    fn kind(&self) -> GraderKind {
        GraderKind::CodeExecution
    }
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }
    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        Grade { extracted: self.extract(response), ground_truth: ground_truth.to_string(), ..Default::default() }
    }
}
