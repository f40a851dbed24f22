//! Placeholder: being written.

use super::{Benchmark, BenchmarkKind, Fixture, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

pub struct Hellaswag;

impl Benchmark for Hellaswag {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Hellaswag
    }
    fn sources(&self, _req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        Err(AccuracyError::Invalid("hellaswag: not built yet".into()))
    }
    fn build(&self, _req: &LoadRequest, _rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        Err(AccuracyError::Invalid("hellaswag: not built yet".into()))
    }
    fn oracle_answer(&self, _problem: &Problem, _correct: bool) -> String {
        String::new()
    }
    fn fixture(&self) -> Vec<Fixture> {
        Vec::new()
    }
}
