//! AIME 2025 (`aime25`), as AIPerf's `AIME25Benchmark` builds it: the same zero-shot
//! lighteval `aime_prompt_fn` as AIME24, over `yentinglin/aime_2025` (train split).

use serde_json::json;

use super::aime24::{boxed_integer_answer, build_zero_shot, train_split, zero_shot_fixture};
use super::gpqa_diamond::rows::row;
use super::{Benchmark, BenchmarkKind, Fixture, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

const REPO: &str = "yentinglin/aime_2025";
const TASK: &str = "aime25";

pub struct Aime25;

impl Benchmark for Aime25 {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Aime25
    }

    /// `load_dataset("yentinglin/aime_2025", split="train")`. AIPerf ignores `tasks`,
    /// `n_shots` and `enable_cot` for AIME25 (one task, zero-shot), and so does this.
    fn sources(&self, _req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        Ok(vec![train_split(REPO)])
    }

    /// One problem per row, in dataset order.
    fn build(&self, _req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        build_zero_shot(REPO, TASK, rows)
    }

    /// `The final answer is $\boxed{gold}$`, or gold plus one.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        boxed_integer_answer(&problem.ground_truth, correct)
    }

    fn fixture(&self) -> Vec<Fixture> {
        zero_shot_fixture(REPO, README, fixture_rows())
    }
}

/// The README of `yentinglin/aime_2025`, sizes cut down to the fixture.
const README: &str = "---
dataset_info:
  features:
  - name: id
    dtype: int64
  - name: problem
    dtype: string
  - name: solution
    dtype: string
  - name: answer
    dtype: string
  - name: url
    dtype: string
  - name: year
    dtype: string
  splits:
  - name: train
    num_examples: 3
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
";

/// Three rows of the train split (solutions abridged).
fn fixture_rows() -> Vec<Row> {
    let r = |id: i64, problem: &str, solution: &str, answer: &str, n: u32| {
        row(vec![
            ("id", json!(id)),
            ("problem", json!(problem)),
            ("solution", json!(solution)),
            ("answer", json!(answer)),
            (
                "url",
                json!(format!(
                    "https://artofproblemsolving.com/wiki/index.php/2025_AIME_I_Problems/Problem_{n}"
                )),
            ),
            ("year", json!("2025")),
        ])
    };
    vec![
        r(
            0,
            "Find the sum of all integer bases $b>9$ for which $17_{b}$ is a divisor of $97_{b}$.",
            "$b+7$ divides $9b+7 = 9(b+7) - 56$, so $b+7 \\in \\{28, 56\\}$ and $b \\in \\{21, 49\\}$; the sum is $\\boxed{70}$.",
            "70",
            1,
        ),
        r(
            2,
            "The 9 members of a baseball team went to an ice-cream parlor after their game. Each player had a single scoop cone of chocolate, vanilla, or strawberry ice cream. At least one player chose each flavor, and the number of players who chose chocolate was greater than the number of players who chose vanilla, which was greater than the number of players who chose strawberry. Let $N$ be the number of different assignments of flavors to players that meet these conditions. Find the remainder when $N$ is divided by 1000.",
            "The splits $(6,2,1)$, $(5,3,1)$ and $(4,3,2)$ give $252 + 504 + 1260 = 2016$ assignments, so the remainder is $\\boxed{16}$.",
            "16",
            3,
        ),
        r(
            3,
            "Find the number of ordered pairs $(x,y)$, where both $x$ and $y$ are integers between $-100$ and $100$, inclusive, such that $12x^{2}-xy-6y^{2}=0$.",
            "$12x^2 - xy - 6y^2 = (3x+2y)(4x-3y)$, giving $67 + 51 - 1 = \\boxed{117}$ pairs.",
            "117",
            4,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_rows_file, assert_sources_ignore_tasks, assert_user_problem, zero_shot_problems,
        zero_shot_req,
    };
    use super::*;

    fn fixture_problems() -> Vec<Problem> {
        zero_shot_problems(&Aime25, None, fixture_rows())
    }

    #[test]
    fn sources_name_the_train_split() {
        let expected = Source::new("yentinglin/aime_2025", None, "train");
        assert_sources_ignore_tasks(&Aime25, expected, &["aime24"]);
    }

    #[test]
    fn prompt_is_the_bare_problem() {
        let all = fixture_problems();
        assert_eq!(all.len(), 3);
        let expected =
            "Find the sum of all integer bases $b>9$ for which $17_{b}$ is a divisor of $97_{b}$.";
        assert_user_problem(&all[0], expected, "70", "aime25", 32768);
        let golds: Vec<&str> = all.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, ["70", "16", "117"]);
    }

    #[test]
    fn tasks_are_ignored() {
        let with_tasks = zero_shot_problems(&Aime25, Some(&["nope"]), fixture_rows());
        assert_eq!(with_tasks, fixture_problems());
    }

    #[test]
    fn oracle_answers_are_boxed() {
        let p = &fixture_problems()[2];
        assert_eq!(
            Aime25.oracle_answer(p, true),
            "The final answer is $\\boxed{117}$"
        );
        assert_eq!(
            Aime25.oracle_answer(p, false),
            "The final answer is $\\boxed{118}$"
        );
    }

    #[test]
    fn missing_answer_is_a_bad_row() {
        let rows = vec![row(vec![("problem", json!("p"))])];
        let err = Aime25.build(&zero_shot_req(None), &[rows]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "yentinglin/aime_2025:train row 0: missing column \"answer\""
        );
    }

    #[test]
    fn fixture_has_the_hub_layout() {
        assert_rows_file(
            &Aime25.fixture(),
            "yentinglin/aime_2025",
            "data/train-00000-of-00001.parquet",
            3,
        );
        assert!(README.contains("    num_examples: 3\n"));
    }
}
