//! Placeholder: being written.

use super::{Grader, GraderKind};
use crate::Grade;

pub struct MmluPro;

impl Grader for MmluPro {
    fn kind(&self) -> GraderKind {
        GraderKind::MmluPro
    }
    fn extract(&self, response: &str) -> String {
        response.trim().to_string()
    }
    fn grade(&self, response: &str, ground_truth: &str) -> Grade {
        Grade { extracted: self.extract(response), ground_truth: ground_truth.to_string(), ..Default::default() }
    }
}
