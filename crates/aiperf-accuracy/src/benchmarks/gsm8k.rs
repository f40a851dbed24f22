//! GSM8K (`gsm8k`), as AIPerf's `GSM8KBenchmark` builds it: lighteval's `prompt.gsm8k`
//! (`Question: {question}\nAnswer:`), zero-shot, over `openai/gsm8k` (`main`, test split),
//! with the raw `answer` (ending in `#### <number>`) as ground truth.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::json;

use super::gpqa_diamond::rows::{problem_per_row, row, RowRef};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

const REPO: &str = "openai/gsm8k";
const CONFIG: &str = "main";
const TASK: &str = "gsm8k";
/// lighteval's `gsm8k_leaderboard` `generation_size`.
const GENERATION_SIZE: u32 = 256;

pub struct Gsm8k;

impl Benchmark for Gsm8k {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Gsm8k
    }

    /// `load_dataset("openai/gsm8k", "main", split="test")`. AIPerf ignores `tasks`,
    /// `n_shots` and `enable_cot` for GSM8K (one task, zero-shot), and so does this.
    fn sources(&self, _req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        Ok(vec![Source::new(REPO, Some(CONFIG), "test")])
    }

    /// One problem per row, in dataset order.
    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        problem_per_row(&self.sources(req)?, rows, problem)
    }

    /// `#### <gold>` (what lighteval's `gsm8k_normalizer` reads), or the gold plus one.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = gold_number(&problem.ground_truth);
        if correct {
            format!("The answer is {gold}.\n#### {gold}")
        } else {
            format!("The answer is {w}.\n#### {w}", w = different_number(&gold))
        }
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![Fixture {
            repo: REPO,
            files: vec![
                FixtureFile::readme(README),
                FixtureFile::rows("main/test-00000-of-00001.parquet", fixture_rows()),
            ],
        }]
    }
}

/// `Question: {question}\nAnswer:` as the prompt and the only user message.
fn problem(r: &RowRef) -> Result<Problem, AccuracyError> {
    let prompt = format!("Question: {}\nAnswer:", r.py_str("question")?);
    Ok(Problem::user_message(
        prompt,
        r.py_str("answer")?,
        TASK,
        GENERATION_SIZE,
    ))
}

/// lighteval's `gsm8k_normalizer` on the gold: the number after `#### `, commas dropped
/// (`[invalid]` when there is none).
fn gold_number(ground_truth: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"#### (-?[0-9.,]+)").expect("static regex"));
    re.captures(ground_truth.trim())
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim().replace(',', ""))
        .unwrap_or_else(|| "[invalid]".to_string())
}

/// A number that never equals `gold` numerically: gold plus one, or an unrelated integer
/// when the gold is not a number.
fn different_number(gold: &str) -> String {
    if let Ok(n) = gold.parse::<i64>() {
        return n.saturating_add(1).to_string();
    }
    match gold.parse::<f64>() {
        Ok(x) if x.is_finite() => format!("{}", x + 1.0),
        _ => "123456789".to_string(),
    }
}

/// The README of `openai/gsm8k`, its `dataset_info` and `configs` cut down to the fixture
/// (the `main` config's test split).
const README: &str = "---
annotations_creators:
- crowdsourced
language_creators:
- crowdsourced
language:
- en
license:
- mit
multilinguality:
- monolingual
size_categories:
- 1K<n<10K
source_datasets:
- original
task_categories:
- text2text-generation
task_ids: []
paperswithcode_id: gsm8k
pretty_name: Grade School Math 8K
tags:
- math-word-problems
dataset_info:
- config_name: main
  features:
  - name: question
    dtype: string
  - name: answer
    dtype: string
  splits:
  - name: test
    num_examples: 4
configs:
- config_name: main
  data_files:
  - split: test
    path: main/test-*
---

# Dataset Card for GSM8K

A fixture: four problems of the test split of the `main` config.
";

/// The first four rows of the test split.
fn fixture_rows() -> Vec<Row> {
    let r = |q: &str, a: &str| row(vec![("question", json!(q)), ("answer", json!(a))]);
    vec![
        r(
            "Janet\u{2019}s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?",
            "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer\u{2019}s market.\n#### 18",
        ),
        r(
            "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?",
            "It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is 2+1=<<2+1=3>>3 bolts of fabric\n#### 3",
        ),
        r(
            "Josh decides to try flipping a house.  He buys a house for $80,000 and then puts in $50,000 in repairs.  This increased the value of the house by 150%.  How much profit did he make?",
            "The cost of the house and repairs came out to 80,000+50,000=$<<80000+50000=130000>>130,000\nHe increased the value of the house by 80,000*1.5=<<80000*1.5=120000>>120,000\nSo the new value of the house is 120,000+80,000=$<<120000+80000=200000>>200,000\nSo he made a profit of 200,000-130,000=$<<200000-130000=70000>>70,000\n#### 70000",
        ),
        r(
            "James decides to run 3 sprints 3 times a week.  He runs 60 meters each sprint.  How many total meters does he run a week?",
            "He sprints 3*3=<<3*3=9>>9 times\nSo he runs 9*60=<<9*60=540>>540 meters\n#### 540",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_sources_ignore_tasks, assert_user_problem, zero_shot_problems, zero_shot_req,
    };
    use super::*;

    fn fixture_problems() -> Vec<Problem> {
        zero_shot_problems(&Gsm8k, None, fixture_rows())
    }

    #[test]
    fn sources_name_main_test_and_ignore_tasks() {
        let expected = Source::new("openai/gsm8k", Some("main"), "test");
        assert_sources_ignore_tasks(&Gsm8k, expected, &["nope"]);
    }

    #[test]
    fn prompts_are_lighteval_gsm8k() {
        let problems = fixture_problems();
        assert_eq!(problems.len(), 4);
        let p = &problems[1];
        let expected = "Question: A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?\nAnswer:";
        let gold = "It takes 2/2=<<2/2=1>>1 bolt of white fiber\nSo the total amount of fabric is 2+1=<<2+1=3>>3 bolts of fabric\n#### 3";
        assert_user_problem(p, expected, gold, "gsm8k", 256);
    }

    #[test]
    fn order_follows_the_rows_and_tasks_are_ignored() {
        let all = fixture_problems();
        let filtered = zero_shot_problems(&Gsm8k, Some(&["unknown"]), fixture_rows());
        assert_eq!(all, filtered);
        let golds: Vec<String> = all.iter().map(|p| gold_number(&p.ground_truth)).collect();
        assert_eq!(golds, ["18", "3", "70000", "540"]);
        assert!(all[0].prompt.starts_with("Question: Janet\u{2019}s ducks"));
    }

    #[test]
    fn oracle_answers_carry_the_marker() {
        let p = &fixture_problems()[2];
        assert_eq!(
            Gsm8k.oracle_answer(p, true),
            "The answer is 70000.\n#### 70000"
        );
        assert_eq!(
            Gsm8k.oracle_answer(p, false),
            "The answer is 70001.\n#### 70001"
        );
        let comma = Problem {
            ground_truth: "so #### -1,234.5".into(),
            ..Problem::default()
        };
        assert_eq!(gold_number(&comma.ground_truth), "-1234.5");
        assert!(Gsm8k.oracle_answer(&comma, false).ends_with("#### -1233.5"));
    }

    #[test]
    fn bad_rows_are_named() {
        let rows = vec![row(vec![("question", json!("q"))])];
        let err = Gsm8k.build(&zero_shot_req(None), &[rows]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "openai/gsm8k[main]:test row 0: missing column \"answer\""
        );
        assert!(Gsm8k.build(&zero_shot_req(None), &[]).is_err());
    }

    #[test]
    fn fixture_has_the_hub_layout() {
        let fixtures = Gsm8k.fixture();
        assert_eq!(fixtures.len(), 1);
        assert_eq!(fixtures[0].repo, "openai/gsm8k");
        let paths: Vec<&str> = fixtures[0]
            .files
            .iter()
            .map(|f| match f {
                FixtureFile::Rows { path, .. } | FixtureFile::Text { path, .. } => path.as_str(),
            })
            .collect();
        assert_eq!(paths, ["README.md", "main/test-00000-of-00001.parquet"]);
        assert!(README.contains("    path: main/test-*\n"));
        assert!(README.contains("    num_examples: 4\n"));
    }
}
