//! AIME (`aime`), as AIPerf's `AIMEBenchmark` builds it: the trt-llm recipe's DeepEval
//! `AIMETemplate.generate_output` over `Maxwell-Jia/AIME_2024` (train split), the first
//! `n_shots` problems (at most 8) as examples, solutions shown when chain of thought is on.

use serde_json::json;

use super::aime24::boxed_integer_answer;
use super::gpqa_diamond::rows::{row, single_source, RowRef};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

const REPO: &str = "Maxwell-Jia/AIME_2024";
const TASK: &str = "aime";
/// The recipe's `assert n_shots <= 8`.
const MAX_N_SHOTS: u32 = 8;
const GENERATION_SIZE: u32 = 32768;
/// Opens the prompt when there is at least one example.
const FEW_SHOT_HEADER: &str = "The following are problems from the American Invitational Mathematics Examination (AIME) 2024. AIME is a prestigious high school mathematics competition known for its challenging mathematical problems.\n\n";
const COT_SUFFIX: &str = "Let's think step-by-step.";
const NO_COT_SUFFIX: &str = "No explanation needed. Just return a number.";

pub struct Aime;

impl Benchmark for Aime {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Aime
    }

    /// `load_dataset("Maxwell-Jia/AIME_2024", split="train")`, refused (before loading, as
    /// AIPerf does) when `n_shots` is over 8. AIPerf ignores `tasks` for AIME (one task), and
    /// so does this.
    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        if req.n_shots > MAX_N_SHOTS {
            return Err(AccuracyError::Invalid(format!(
                "AIME supports at most {MAX_N_SHOTS} few-shot examples (got {}). The trt-llm reference asserts ``n_shots <= 8``; raise that limit upstream first.",
                req.n_shots
            )));
        }
        Ok(vec![Source::new(REPO, None, "train")])
    }

    /// One problem per row, in dataset order; every prompt carries the same examples (the
    /// first `n_shots` rows, which are also asked themselves).
    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        let (label, rows) = single_source(&self.sources(req)?, rows)?;
        let shots = rows.len().min(req.n_shots as usize);
        let mut examples = String::new();
        if shots > 0 {
            examples.push_str(FEW_SHOT_HEADER);
        }
        for (i, r) in rows[..shots].iter().enumerate() {
            examples.push_str(&example_block(&RowRef::new(&label, i, r), req.enable_cot)?);
            examples.push_str("\n\n");
        }
        rows.iter()
            .enumerate()
            .map(|(i, r)| problem(&RowRef::new(&label, i, r), &examples, req.enable_cot))
            .collect()
    }

    /// `The final answer is $\boxed{gold}$` (the `math` grader reads the last box), or gold
    /// plus one.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        boxed_integer_answer(&problem.ground_truth, correct)
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![Fixture {
            repo: REPO,
            files: vec![
                FixtureFile::readme(README),
                FixtureFile::rows("aime_2024_problems.parquet", fixture_rows()),
            ],
        }]
    }
}

/// `AIMETemplate.format_example`: `**Problem**: `, `**Solution**: ` (chain of thought only),
/// `**Answer**: `, one per line.
fn example_block(r: &RowRef, enable_cot: bool) -> Result<String, AccuracyError> {
    let mut block = format!("**Problem**: {}\n", r.text("Problem")?);
    if enable_cot {
        // `str(row.get("Solution", ""))`
        let solution = match r.row.get("Solution") {
            None => String::new(),
            Some(_) => r.py_str("Solution")?,
        };
        block.push_str(&format!("**Solution**: {solution}\n"));
    }
    block.push_str(&format!("**Answer**: {}", r.py_str("Answer")?));
    Ok(block)
}

/// The examples, then the asked problem with an empty answer, then the CoT (or no-CoT) line;
/// the same text as the only user message.
fn problem(r: &RowRef, examples: &str, enable_cot: bool) -> Result<Problem, AccuracyError> {
    let suffix = if enable_cot {
        COT_SUFFIX
    } else {
        NO_COT_SUFFIX
    };
    let prompt = format!(
        "{examples}**Problem**: {}\n**Answer**: \n\n{suffix}",
        r.text("Problem")?
    );
    Ok(Problem::user_message(
        prompt,
        r.py_str("Answer")?,
        TASK,
        GENERATION_SIZE,
    ))
}

/// The README of `Maxwell-Jia/AIME_2024`: no `configs` block (one Parquet file at the root,
/// which the `datasets` library reads as the `train` split).
const README: &str = "---
license: mit
task_categories:
- text-generation
language:
- en
tags:
- explanation-generation
pretty_name: AIME 2024 Dataset
size_categories:
- n<1K
---

# AIME 2024 Dataset

A fixture: four problems (solutions abridged).
";

/// Four rows of the train split; `Answer` is an integer column.
fn fixture_rows() -> Vec<Row> {
    let r = |id: &str, problem: &str, solution: &str, answer: i64| {
        row(vec![
            ("ID", json!(id)),
            ("Problem", json!(problem)),
            ("Solution", json!(solution)),
            ("Answer", json!(answer)),
        ])
    };
    vec![
        r(
            "2024-I-1",
            "Every morning Aya goes for a $9$-kilometer-long walk and stops at a coffee shop afterwards. When she walks at a constant speed of $s$ kilometers per hour, the walk takes her 4 hours, including $t$ minutes spent in the coffee shop. When she walks $s+2$ kilometers per hour, the walk takes her 2 hours and 24 minutes, including $t$ minutes spent in the coffee shop. Suppose Aya walks at $s+\\frac{1}{2}$ kilometers per hour. Find the number of minutes the walk takes her, including the $t$ minutes spent in the coffee shop.",
            "$\\frac{9}{s} + t = 4$ and $\\frac{9}{s+2} + t = 2.4$ give $s = 2.5$ and $t = 0.4$, so the walk takes $3 + 0.4 = 3.4$ hours, or $204$ minutes.",
            204,
        ),
        r(
            "2024-I-2",
            "There exist real numbers $x$ and $y$, both greater than 1, such that $\\log_x\\left(y^x\\right)=\\log_y\\left(x^{4y}\\right)=10$. Find $xy$.",
            "We get $x\\log_x y = 10$ and $4y\\log_y x = 10$; multiplying, $4xy = 100$, so $xy = 25$.",
            25,
        ),
        r(
            "2024-I-3",
            "Alice and Bob play the following game. A stack of $n$ tokens lies before them. The players take turns with Alice going first. On each turn, the player removes either $1$ token or $4$ tokens from the stack. Whoever removes the last token wins. Find the number of positive integers $n$ less than or equal to $2024$ for which there exists a strategy for Bob that guarantees that Bob will win the game regardless of Alice's play.",
            "Bob wins exactly when $n \\equiv 0$ or $2 \\pmod 5$, which gives $404 + 405 = 809$ values.",
            809,
        ),
        r(
            "2024-II-1",
            "Among the 900 residents of Aimeville, there are 195 who own a diamond ring, 367 who own a set of golf clubs, and 562 who own a garden spade. In addition, each of the 900 residents owns a bag of candy hearts. There are 437 residents who own exactly two of these things, and 234 residents who own exactly three of these things. Find the number of residents of Aimeville who own all four of these things.",
            "Counting items, $195 + 367 + 562 + 900 = 2024 = 437 \\cdot 2 + 234 \\cdot 3 + 4x + (900 - 437 - 234 - x)$, so $x = 73$.",
            73,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_rows_file, assert_user_problem};
    use super::*;

    fn req(n_shots: u32, enable_cot: bool) -> LoadRequest {
        LoadRequest {
            tasks: None,
            n_shots,
            enable_cot,
        }
    }

    fn tiny_rows() -> Vec<Row> {
        let r = |p: &str, s: &str, a: i64| {
            row(vec![
                ("ID", json!("x")),
                ("Problem", json!(p)),
                ("Solution", json!(s)),
                ("Answer", json!(a)),
            ])
        };
        vec![
            r("P1?", "S1.", 1),
            r("P2?", "S2.", 22),
            r("P3?", "S3.", 333),
        ]
    }

    #[test]
    fn sources_refuse_more_than_eight_shots() {
        let expected = vec![Source::new("Maxwell-Jia/AIME_2024", None, "train")];
        assert_eq!(Aime.sources(&req(8, true)).unwrap(), expected);
        let err = Aime.sources(&req(9, true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AIME supports at most 8 few-shot examples (got 9). The trt-llm reference asserts ``n_shots <= 8``; raise that limit upstream first."
        );
        assert!(Aime.build(&req(9, true), &[tiny_rows()]).is_err());
    }

    #[test]
    fn cot_prompt_shows_solutions_of_the_first_rows() {
        let problems = Aime.build(&req(2, true), &[tiny_rows()]).unwrap();
        assert_eq!(problems.len(), 3);
        let expected = format!(
            "{FEW_SHOT_HEADER}**Problem**: P1?\n**Solution**: S1.\n**Answer**: 1\n\n**Problem**: P2?\n**Solution**: S2.\n**Answer**: 22\n\n**Problem**: P3?\n**Answer**: \n\nLet's think step-by-step."
        );
        assert_user_problem(&problems[2], &expected, "333", "aime", 32768);
        assert!(problems[0]
            .prompt
            .ends_with("**Problem**: P1?\n**Answer**: \n\nLet's think step-by-step."));
    }

    #[test]
    fn header_text_is_the_recipes() {
        assert_eq!(
            FEW_SHOT_HEADER,
            "The following are problems from the American Invitational Mathematics Examination (AIME) 2024. AIME is a prestigious high school mathematics competition known for its challenging mathematical problems.\n\n"
        );
    }

    #[test]
    fn no_cot_prompt_hides_solutions() {
        let problems = Aime.build(&req(1, false), &[tiny_rows()]).unwrap();
        assert_eq!(
            problems[1].prompt,
            format!("{FEW_SHOT_HEADER}**Problem**: P1?\n**Answer**: 1\n\n**Problem**: P2?\n**Answer**: \n\nNo explanation needed. Just return a number.")
        );
    }

    #[test]
    fn zero_shots_has_no_header() {
        let problems = Aime.build(&req(0, true), &[tiny_rows()]).unwrap();
        assert_eq!(
            problems[0].prompt,
            "**Problem**: P1?\n**Answer**: \n\nLet's think step-by-step."
        );
    }

    #[test]
    fn default_eight_shots_use_every_row_of_a_short_split() {
        let problems = Aime.build(&req(8, true), &[fixture_rows()]).unwrap();
        assert_eq!(problems.len(), 4);
        let golds: Vec<&str> = problems.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, ["204", "25", "809", "73"]);
        let p = &problems[3].prompt;
        assert_eq!(p.matches("**Solution**: ").count(), 4);
        assert!(p.contains("so $x = 73$.\n**Answer**: 73\n\n**Problem**: Among the 900"));
        assert!(
            p.ends_with("own all four of these things.\n**Answer**: \n\nLet's think step-by-step.")
        );
        assert!(problems
            .iter()
            .all(|q| q.prompt.starts_with(FEW_SHOT_HEADER)));
    }

    #[test]
    fn missing_solution_is_empty_and_null_is_none() {
        let mut rows = tiny_rows();
        rows[0].remove("Solution");
        rows[1].insert("Solution".into(), json!(null));
        let p = &Aime.build(&req(2, true), &[rows]).unwrap()[2].prompt;
        assert!(p.contains("**Problem**: P1?\n**Solution**: \n**Answer**: 1\n\n"));
        assert!(p.contains("**Problem**: P2?\n**Solution**: None\n**Answer**: 22\n\n"));
    }

    #[test]
    fn bad_rows_are_named() {
        let mut rows = tiny_rows();
        rows[1].remove("Answer");
        let err = Aime.build(&req(8, true), &[rows]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Maxwell-Jia/AIME_2024:train row 1: missing column \"Answer\""
        );
    }

    #[test]
    fn oracle_answers_are_boxed() {
        let problems = Aime.build(&req(8, true), &[fixture_rows()]).unwrap();
        assert_eq!(
            Aime.oracle_answer(&problems[1], true),
            "The final answer is $\\boxed{25}$"
        );
        assert_eq!(
            Aime.oracle_answer(&problems[1], false),
            "The final answer is $\\boxed{26}$"
        );
    }

    #[test]
    fn fixture_is_one_root_parquet() {
        assert_rows_file(
            &Aime.fixture(),
            "Maxwell-Jia/AIME_2024",
            "aime_2024_problems.parquet",
            4,
        );
        assert!(!README.contains("configs:"));
    }
}
