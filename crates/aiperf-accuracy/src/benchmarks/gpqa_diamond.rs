//! GPQA-Diamond (`gpqa_diamond`), as AIPerf's `GPQADiamondBenchmark` builds it: the
//! simple-evals template of lighteval's `gpqa_prompt_fn`, zero-shot, over `Idavidrein/gpqa`
//! (`gpqa_diamond`, train split), the four answers in a SHA-256-seeded order (AIPerf's one
//! deviation from the recipe's `random.randint`), the gold letter as ground truth.

pub(crate) mod pyrandom;
pub(crate) mod rows;

use serde_json::json;
use sha2::{Digest, Sha256};

use self::pyrandom::PyRandom;
use self::rows::{problem_per_row, row, to_csv, RowRef};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

const REPO: &str = "Idavidrein/gpqa";
const CONFIG: &str = "gpqa_diamond";
const TASK: &str = "gpqa_diamond";
/// lighteval's `gpqa_diamond` `generation_size`.
const GENERATION_SIZE: u32 = 32768;
const LETTERS: [&str; 4] = ["A", "B", "C", "D"];
/// The correct answer first, then the three distractors (AIPerf's `raw` order).
const ANSWER_COLUMNS: [&str; 4] = [
    "Correct Answer",
    "Incorrect Answer 1",
    "Incorrect Answer 2",
    "Incorrect Answer 3",
];
const INSTRUCTION: &str = "Answer the following multiple choice question. The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by step before answering.";

pub struct GpqaDiamond;

impl Benchmark for GpqaDiamond {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::GpqaDiamond
    }

    /// `load_dataset("Idavidrein/gpqa", "gpqa_diamond", split="train")`. AIPerf ignores
    /// `tasks` (the domain is metadata only), `n_shots` and `enable_cot` for GPQA-Diamond,
    /// and so does this.
    fn sources(&self, _req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        Ok(vec![Source::new(REPO, Some(CONFIG), "train")])
    }

    /// One problem per row, in dataset order.
    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        problem_per_row(&self.sources(req)?, rows, problem)
    }

    /// `Answer: <gold letter>`, or the next letter round ABCD.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = LETTERS
            .iter()
            .position(|l| problem.ground_truth.trim().eq_ignore_ascii_case(l))
            .unwrap_or(0);
        let letter = if correct { gold } else { (gold + 1) % 4 };
        format!("Answer: {}", LETTERS[letter])
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![Fixture {
            repo: REPO,
            files: vec![
                FixtureFile::readme(README),
                FixtureFile::Text {
                    path: "gpqa_diamond.csv".into(),
                    text: to_csv(&fixture_rows()),
                },
            ],
        }]
    }
}

/// The simple-evals prompt over the shuffled answers; the gold letter as ground truth.
fn problem(r: &RowRef) -> Result<Problem, AccuracyError> {
    let mut answers = Vec::with_capacity(4);
    for col in ANSWER_COLUMNS {
        answers.push(r.py_str(col)?);
    }
    let question = r.text("Question")?;
    let order = shuffled_order(question);
    let gold = order.iter().position(|&i| i == 0).unwrap_or(0);
    let mut prompt = format!("{INSTRUCTION}\n\n{question}\n");
    for (letter, &i) in LETTERS.iter().zip(&order) {
        prompt.push_str(&format!("\n{letter}) {}", answers[i]));
    }
    Ok(Problem::user_message(
        prompt,
        LETTERS[gold],
        TASK,
        GENERATION_SIZE,
    ))
}

/// AIPerf's `_seeded_shuffle_indices(question, 4)`: `random.Random(int(sha256(q).hexdigest(),
/// 16) % 2**32).shuffle([0, 1, 2, 3])`; the modulus keeps the digest's last four bytes.
fn shuffled_order(question: &str) -> [usize; 4] {
    let digest = Sha256::digest(question.as_bytes());
    let seed = digest[28..]
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let mut order = [0, 1, 2, 3];
    PyRandom::new(u128::from(seed)).shuffle(&mut order);
    order
}

/// The README of `Idavidrein/gpqa`, its `configs` cut down to `gpqa_diamond` (a config with
/// bare `data_files` is one `train` split).
const README: &str = "---
license: cc-by-4.0
viewer: true
extra_gated_prompt: >-
  You agree to NOT reveal examples from this dataset in plain text or images
  online, to reduce the risk of leakage into foundation model training corpora.
extra_gated_fields:
  I accept these terms: checkbox
configs:
- config_name: gpqa_diamond
  data_files: gpqa_diamond.csv
task_categories:
- question-answering
- text-generation
language:
- en
tags:
- open-domain-qa
- open-book-qa
- multiple-choice-qa
pretty_name: GPQA
size_categories:
- n<1K
---

# Dataset Card for GPQA

A fixture: four made-up questions in the real columns (the real ones are not to be
published in plain text).
";

/// Four invented rows in the real columns of `gpqa_diamond.csv` (a subset of them).
fn fixture_rows() -> Vec<Row> {
    let r = |id: &str, q: &str, answers: [&str; 4], sub: &str, domain: &str, acc: f64| {
        row(vec![
            ("Question", json!(q)),
            ("Correct Answer", json!(answers[0])),
            ("Incorrect Answer 1", json!(answers[1])),
            ("Incorrect Answer 2", json!(answers[2])),
            ("Incorrect Answer 3", json!(answers[3])),
            ("Explanation", json!("Fixture row; see the correct answer.")),
            ("Subdomain", json!(sub)),
            ("Expert Validator Accuracy", json!(acc)),
            ("Record ID", json!(id)),
            ("High-level domain", json!(domain)),
        ])
    };
    vec![
        r(
            "recFixture0001",
            "A particle of mass m is confined to a one-dimensional box of length L. What is the energy of its first excited state?",
            ["2\u{3c0}\u{b2}\u{210f}\u{b2}/(mL\u{b2})", "\u{3c0}\u{b2}\u{210f}\u{b2}/(2mL\u{b2})", "9\u{3c0}\u{b2}\u{210f}\u{b2}/(2mL\u{b2})", "\u{3c0}\u{210f}/(mL)"],
            "Quantum Mechanics",
            "Physics",
            1.0,
        ),
        r(
            "recFixture0002",
            "Which product forms when 1-methylcyclohexene reacts with HBr in the presence of peroxides?",
            ["trans-1-bromo-2-methylcyclohexane", "1-bromo-1-methylcyclohexane", "3-bromo-1-methylcyclohexene", "methylenecyclohexane"],
            "Organic Chemistry",
            "Chemistry",
            0.5,
        ),
        r(
            "recFixture0003",
            "A gene has two alleles, \"A\" and \"a\", at frequencies 0.7 and 0.3 in a population in Hardy-Weinberg equilibrium.\nWhat fraction of the population is heterozygous?",
            ["0.42", "0.21", "0.49, assuming random mating", "0.09"],
            "Genetics",
            "Biology",
            1.0,
        ),
        r(
            "recFixture0004",
            "Two identical capacitors, each of capacitance C, are connected in series to a battery of voltage V. What is the total energy stored?",
            ["CV\u{b2}/4", "CV\u{b2}/2", "CV\u{b2}", "2CV\u{b2}"],
            "Electromagnetism and Photonics",
            "Physics",
            0.5,
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
        zero_shot_problems(&GpqaDiamond, None, fixture_rows())
    }

    #[test]
    fn sources_name_the_diamond_config() {
        let expected = Source::new("Idavidrein/gpqa", Some("gpqa_diamond"), "train");
        assert_sources_ignore_tasks(&GpqaDiamond, expected, &["Physics"]);
    }

    /// `_seeded_shuffle_indices(q, 4)` from AIPerf under CPython 3.11.
    #[test]
    fn shuffles_match_aiperf() {
        for (question, expected) in PY_ORDERS {
            assert_eq!(shuffled_order(question), *expected, "{question:?}");
        }
    }

    #[test]
    fn prompt_is_the_simple_evals_template() {
        let p = &fixture_problems()[3];
        let expected = "Answer the following multiple choice question. The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by step before answering.\n\nTwo identical capacitors, each of capacitance C, are connected in series to a battery of voltage V. What is the total energy stored?\n\nA) CV\u{b2}\nB) CV\u{b2}/2\nC) CV\u{b2}/4\nD) 2CV\u{b2}";
        assert_user_problem(p, expected, "C", "gpqa_diamond", 32768);
    }

    #[test]
    fn gold_letters_follow_the_shuffle_in_row_order() {
        let all = fixture_problems();
        let golds: Vec<&str> = all.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, PY_GOLDS);
        assert!(all[2]
            .prompt
            .contains("\n\nA gene has two alleles, \"A\" and \"a\""));
        let with_tasks = zero_shot_problems(&GpqaDiamond, Some(&["Biology"]), fixture_rows());
        assert_eq!(with_tasks, all);
    }

    #[test]
    fn non_string_question_is_a_bad_row() {
        let mut r = fixture_rows().remove(0);
        r.insert("Question".into(), json!(null));
        let err = GpqaDiamond
            .build(&zero_shot_req(None), &[vec![r]])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Idavidrein/gpqa[gpqa_diamond]:train row 0: column \"Question\": expected a string, got null"
        );
    }

    #[test]
    fn oracle_answers_name_a_letter() {
        let all = fixture_problems();
        assert_eq!(GpqaDiamond.oracle_answer(&all[3], true), "Answer: C");
        assert_eq!(GpqaDiamond.oracle_answer(&all[3], false), "Answer: D");
        let d = Problem {
            ground_truth: "D".into(),
            ..Problem::default()
        };
        assert!(GpqaDiamond.oracle_answer(&d, false).ends_with("Answer: A"));
    }

    #[test]
    fn fixture_is_the_real_csv() {
        let fx = GpqaDiamond.fixture();
        assert_eq!(fx[0].repo, "Idavidrein/gpqa");
        let FixtureFile::Text { path, text } = &fx[0].files[1] else {
            panic!("expected the CSV as text");
        };
        assert_eq!(path, "gpqa_diamond.csv");
        assert!(text.starts_with("Question,Correct Answer,Incorrect Answer 1,"));
        assert!(text.contains("\"A gene has two alleles, \"\"A\"\" and"));
        assert!(README.contains("  data_files: gpqa_diamond.csv\n"));
    }

    #[test]
    fn long_question_shuffle_matches_aiperf() {
        assert_eq!(shuffled_order(&"x".repeat(1000)), [1, 2, 0, 3]);
    }

    const PY_ORDERS: &[(&str, [usize; 4])] = &[
        ("A particle of mass m is confined to a one-dimensional box of length L. What is the energy of its first excited state?", [3, 0, 2, 1]),
        ("Which product forms when 1-methylcyclohexene reacts with HBr in the presence of peroxides?", [2, 1, 3, 0]),
        ("A gene has two alleles, \"A\" and \"a\", at frequencies 0.7 and 0.3 in a population in Hardy-Weinberg equilibrium.\nWhat fraction of the population is heterozygous?", [1, 2, 0, 3]),
        ("Two identical capacitors, each of capacitance C, are connected in series to a battery of voltage V. What is the total energy stored?", [2, 1, 0, 3]),
        ("", [2, 1, 3, 0]),
        ("What is 2+2?", [0, 1, 2, 3]),
        ("\u{c9}nergie \u{3c0} \u{2192} \u{2211}", [2, 0, 3, 1]),
    ];
    const PY_GOLDS: [&str; 4] = ["B", "D", "C", "C"];
}
