//! AIME 2024 (`aime24`), as AIPerf's `AIME24Benchmark` builds it: lighteval's
//! `aime_prompt_fn` (the bare problem as the only user message), zero-shot, over
//! `HuggingFaceH4/aime_2024` (train split), with `str(answer)` as ground truth.

use serde_json::json;

use super::gpqa_diamond::rows::{problem_per_row, row};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

const REPO: &str = "HuggingFaceH4/aime_2024";
const TASK: &str = "aime24";
/// lighteval's AIME `generation_size`.
const GENERATION_SIZE: u32 = 32768;

pub struct Aime24;

impl Benchmark for Aime24 {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Aime24
    }

    /// `load_dataset("HuggingFaceH4/aime_2024", split="train")`. AIPerf ignores `tasks`,
    /// `n_shots` and `enable_cot` for AIME24 (one task, zero-shot), and so does this.
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

/// The one split lighteval's zero-shot AIME benchmarks read: `load_dataset(repo,
/// split="train")`.
pub(super) fn train_split(repo: &'static str) -> Source {
    Source::new(repo, None, "train")
}

/// A zero-shot AIME repo: its README and one Parquet file of train rows.
pub(super) fn zero_shot_fixture(repo: &'static str, readme: &str, rows: Vec<Row>) -> Vec<Fixture> {
    vec![Fixture {
        repo,
        files: vec![
            FixtureFile::readme(readme),
            FixtureFile::rows("data/train-00000-of-00001.parquet", rows),
        ],
    }]
}

/// lighteval's zero-shot AIME problems (AIME24 and AIME25): the bare `problem` as prompt and
/// only user message, `str(answer)` as ground truth, one task.
pub(super) fn build_zero_shot(
    repo: &'static str,
    task: &str,
    rows: &[Vec<Row>],
) -> Result<Vec<Problem>, AccuracyError> {
    problem_per_row(&[train_split(repo)], rows, |r| {
        let prompt = r.text("problem")?.to_string();
        Ok(Problem::user_message(
            prompt,
            r.py_str("answer")?,
            task,
            GENERATION_SIZE,
        ))
    })
}

/// `The final answer is $\boxed{..}$` with the gold, or (wrong) an integer that differs:
/// gold plus one, or `123456789` / `987654321` for a non-integer gold.
pub(super) fn boxed_integer_answer(gold: &str, correct: bool) -> String {
    let gold = gold.trim();
    let answer = match (correct, gold.parse::<i64>()) {
        (true, _) => gold.to_string(),
        (false, Ok(n)) => n.saturating_add(1).to_string(),
        (false, Err(_)) if gold == "123456789" => "987654321".to_string(),
        (false, Err(_)) => "123456789".to_string(),
    };
    format!("The final answer is $\\boxed{{{answer}}}$")
}

/// The README of `HuggingFaceH4/aime_2024`, sizes cut down to the fixture.
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
    num_examples: 4
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
";

/// Four rows of the train split (problems abridged).
fn fixture_rows() -> Vec<Row> {
    let r = |id: i64, problem: &str, solution: &str, answer: &str, url: &str| {
        row(vec![
            ("id", json!(id)),
            ("problem", json!(problem)),
            ("solution", json!(solution)),
            ("answer", json!(answer)),
            ("url", json!(url)),
            ("year", json!("2024")),
        ])
    };
    vec![
        r(
            60,
            "Every morning Aya goes for a $9$-kilometer-long walk and stops at a coffee shop afterwards. When she walks at a constant speed of $s$ kilometers per hour, the walk takes her 4 hours, including $t$ minutes spent in the coffee shop. When she walks $s+2$ kilometers per hour, the walk takes her 2 hours and 24 minutes, including $t$ minutes spent in the coffee shop. Suppose Aya walks at $s+\\frac{1}{2}$ kilometers per hour. Find the number of minutes the walk takes her, including the $t$ minutes spent in the coffee shop.",
            "$\\frac{9}{s} + t = 4$ and $\\frac{9}{s+2} + t = 2.4$ give $s = 2.5$ and $t = 0.4$ hours, so the walk takes $\\frac{9}{3} + 0.4 = 3.4$ hours, which is $\\boxed{204}$ minutes.",
            "204",
            "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_1",
        ),
        r(
            61,
            "Let $ABC$ be a triangle inscribed in circle $\\omega$. Let the tangents to $\\omega$ at $B$ and $C$ intersect at point $D$, and let $\\overline{AD}$ intersect $\\omega$ at $P$. If $AB=5$, $BC=9$, and $AC=10$, $AP$ can be written as the form $\\frac{m}{n}$, where $m$ and $n$ are relatively prime integers. Find $m + n$.",
            "Power of a point gives $AP = \\frac{100}{13}$, so $m + n = \\boxed{113}$.",
            "113",
            "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_10",
        ),
        r(
            62,
            "Each vertex of a regular octagon is independently colored either red or blue with equal probability. The probability that the octagon can then be rotated so that all of the blue vertices end up at positions where there were originally red vertices is $\\tfrac{m}{n}$, where $m$ and $n$ are relatively prime positive integers. What is $m+n$?",
            "Counting the colorings by the number of blue vertices gives $\\frac{115}{256}$, so the answer is $\\boxed{371}$.",
            "371",
            "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_11",
        ),
        r(
            63,
            "There exist real numbers $x$ and $y$, both greater than 1, such that $\\log_x\\left(y^x\\right)=\\log_y\\left(x^{4y}\\right)=10$. Find $xy$.",
            "The equations give $x \\log_x y = 10$ and $4y \\log_y x = 10$; multiplying, $4xy = 100$, so $xy = \\boxed{025}$.",
            "025",
            "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_2",
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
        zero_shot_problems(&Aime24, None, fixture_rows())
    }

    #[test]
    fn sources_name_the_train_split() {
        let expected = Source::new("HuggingFaceH4/aime_2024", None, "train");
        assert_sources_ignore_tasks(&Aime24, expected, &["x"]);
    }

    #[test]
    fn prompt_is_the_bare_problem() {
        let all = fixture_problems();
        assert_eq!(all.len(), 4);
        let p = &all[1];
        let expected = "Let $ABC$ be a triangle inscribed in circle $\\omega$. Let the tangents to $\\omega$ at $B$ and $C$ intersect at point $D$, and let $\\overline{AD}$ intersect $\\omega$ at $P$. If $AB=5$, $BC=9$, and $AC=10$, $AP$ can be written as the form $\\frac{m}{n}$, where $m$ and $n$ are relatively prime integers. Find $m + n$.";
        assert_user_problem(p, expected, "113", "aime24", 32768);
    }

    #[test]
    fn order_and_ground_truths_follow_the_rows() {
        let all = fixture_problems();
        let golds: Vec<&str> = all.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, ["204", "113", "371", "025"]);
        let with_tasks = zero_shot_problems(&Aime24, Some(&["nope"]), fixture_rows());
        assert_eq!(with_tasks, all);
    }

    #[test]
    fn integer_answers_are_stringified_like_python() {
        let rows = vec![row(vec![("problem", json!("p")), ("answer", json!(7))])];
        assert_eq!(
            Aime24.build(&zero_shot_req(None), &[rows]).unwrap()[0].ground_truth,
            "7"
        );
        let rows = vec![row(vec![("problem", json!(3)), ("answer", json!(7))])];
        let err = Aime24.build(&zero_shot_req(None), &[rows]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "HuggingFaceH4/aime_2024:train row 0: column \"problem\": expected a string, got a number"
        );
    }

    #[test]
    fn oracle_answers_are_boxed() {
        let all = fixture_problems();
        assert_eq!(
            Aime24.oracle_answer(&all[0], true),
            "The final answer is $\\boxed{204}$"
        );
        assert_eq!(
            Aime24.oracle_answer(&all[0], false),
            "The final answer is $\\boxed{205}$"
        );
        assert_eq!(
            Aime24.oracle_answer(&all[3], false),
            "The final answer is $\\boxed{26}$"
        );
        assert_eq!(
            boxed_integer_answer("\\frac{1}{2}", false),
            "The final answer is $\\boxed{123456789}$"
        );
    }

    #[test]
    fn fixture_has_the_hub_layout() {
        assert_rows_file(
            &Aime24.fixture(),
            "HuggingFaceH4/aime_2024",
            "data/train-00000-of-00001.parquet",
            4,
        );
        assert!(README.contains("    path: data/train-*\n"));
    }
}
