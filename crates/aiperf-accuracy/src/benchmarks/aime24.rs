//! Placeholder: being written.

use super::{Benchmark, BenchmarkKind, Fixture, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

pub struct Aime24;

impl Benchmark for Aime24 {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Aime24
    }
    fn sources(&self, _req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        Err(AccuracyError::Invalid("aime24: not built yet".into()))
    }
    fn build(&self, _req: &LoadRequest, _rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        Err(AccuracyError::Invalid("aime24: not built yet".into()))
    }
    fn oracle_answer(&self, _problem: &Problem, _correct: bool) -> String {
        String::new()
    }
    fn fixture(&self) -> Vec<Fixture> {
        Vec::new()
    }
}
