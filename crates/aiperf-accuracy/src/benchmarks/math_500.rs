//! MATH-500 (`math_500`), as AIPerf's `Math500Benchmark` builds it: lighteval's `prompt_fn`
//! (the bare problem as the only user message), zero-shot, over `HuggingFaceH4/MATH-500`
//! (test split), with the full `solution` (holding `\boxed{answer}`) as ground truth and the
//! row's `subject` as its task.

use serde_json::json;

use super::gpqa_diamond::rows::{problem_per_row, row, RowRef};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};

const REPO: &str = "HuggingFaceH4/MATH-500";
const TASK: &str = "math_500";
/// lighteval's `math_500` `generation_size`.
const GENERATION_SIZE: u32 = 32768;

pub struct Math500;

impl Benchmark for Math500 {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Math500
    }

    /// `load_dataset("HuggingFaceH4/MATH-500", split="test")`. AIPerf ignores `tasks` for
    /// MATH-500 (lighteval evaluates the whole split; subjects only label the results), and
    /// so does this: `--accuracy-tasks Algebra` still loads every subject.
    fn sources(&self, _req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        Ok(vec![Source::new(REPO, None, "test")])
    }

    /// One problem per row, in dataset order; the task is the row's `subject`.
    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        problem_per_row(&self.sources(req)?, rows, problem)
    }

    /// The gold `\boxed{...}` of the solution, or `\boxed{123456789}` (another integer if
    /// that is the gold).
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = last_boxed(&problem.ground_truth).unwrap_or(problem.ground_truth.trim());
        let answer = match (correct, gold.trim()) {
            (true, _) => gold,
            (false, "123456789") => "987654321",
            (false, _) => "123456789",
        };
        format!("The final answer is $\\boxed{{{answer}}}$")
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![Fixture {
            repo: REPO,
            files: vec![
                FixtureFile::readme(README),
                FixtureFile::rows("test.jsonl", fixture_rows()),
            ],
        }]
    }
}

/// The bare problem as prompt and only user message; `solution or ""` as ground truth;
/// `subject or "math_500"` as task.
fn problem(r: &RowRef) -> Result<Problem, AccuracyError> {
    let prompt = r.text("problem")?.to_string();
    let solution = r.text_or_none("solution")?.unwrap_or_default();
    let subject = r.text_or_none("subject")?.unwrap_or(TASK);
    Ok(Problem::user_message(
        prompt,
        solution,
        subject,
        GENERATION_SIZE,
    ))
}

/// The content of the last `\boxed{...}` (or `\fbox{...}`) in `text`, braces balanced.
pub(crate) fn last_boxed(text: &str) -> Option<&str> {
    let start = ["\\boxed", "\\fbox"]
        .iter()
        .filter_map(|cmd| text.rfind(cmd).map(|i| i + cmd.len()))
        .max()?;
    let rest = text[start..].trim_start();
    let body = rest.strip_prefix('{')?;
    let mut depth = 1usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The README of `HuggingFaceH4/MATH-500`: no `configs` block (the split comes from the
/// file name `test.jsonl`).
const README: &str = "---
task_categories:
- text-generation
language:
- en
pretty_name: MATH-500
---

# Dataset Card for MATH-500

<!-- Provide a quick summary of the dataset. -->

This dataset contains a subset of 500 problems from the MATH benchmark that OpenAI created in their _Let's Verify Step by Step_ paper. See their GitHub repo for the source file: https://github.com/openai/prm800k/tree/main?tab=readme-ov-file#math-splits

A fixture: six problems, two subjects.
";

/// Six rows of the test split, three `Precalculus` and three `Algebra`, interleaved.
fn fixture_rows() -> Vec<Row> {
    let r = |problem: &str, solution: &str, answer: &str, subject: &str, level: u32, id: &str| {
        row(vec![
            ("problem", json!(problem)),
            ("solution", json!(solution)),
            ("answer", json!(answer)),
            ("subject", json!(subject)),
            ("level", json!(level)),
            ("unique_id", json!(id)),
        ])
    };
    vec![
        r(
            "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.  Enter your answer in the form $(r,\\theta),$ where $r > 0$ and $0 \\le \\theta < 2 \\pi.$",
            "We have that $r = \\sqrt{0^2 + 3^2} = 3.$  Also, if we draw the line connecting the origin and $(0,3),$ this line makes an angle of $\\frac{\\pi}{2}$ with the positive $x$-axis.\n\nTherefore, the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$",
            "\\left( 3, \\frac{\\pi}{2} \\right)",
            "Precalculus",
            2,
            "test/precalculus/807.json",
        ),
        r(
            "If $f(x) = \\frac{3x-2}{x-2}$, what is the value of $f(-2) +f(-1)+f(0)$? Express your answer as a common fraction.",
            "$f(-2)+f(-1)+f(0)=\\frac{3(-2)-2}{-2-2}+\\frac{3(-1)-2}{-1-2}+\\frac{3(0)-2}{0-2}=\\frac{-8}{-4}+\\frac{-5}{-3}+\\frac{-2}{-2}=2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$",
            "\\frac{14}{3}",
            "Algebra",
            3,
            "test/algebra/2584.json",
        ),
        r(
            "Compute $\\arcsin \\left( -\\frac{1}{2} \\right).$  Express your answer in radians.",
            "Since $\\sin \\left( -\\frac{\\pi}{6} \\right) = -\\frac{1}{2},$ $\\arcsin \\left( -\\frac{1}{2} \\right) = \\boxed{-\\frac{\\pi}{6}}.$",
            "-\\frac{\\pi}{6}",
            "Precalculus",
            2,
            "test/precalculus/1105.json",
        ),
        r(
            "What is the value of $513^2 - 487^2$?",
            "We note that this is a difference of squares, so $513^2 - 487^2 = (513+487)(513-487) = (1000)(26) = \\boxed{26000}$.",
            "26000",
            "Algebra",
            1,
            "test/algebra/2036.json",
        ),
        r(
            "Find the degree measure of the least positive angle $\\theta$ for which\n\\[\\tan \\theta = 1.\\]",
            "The tangent of $45^\\circ$ is 1, so the least positive angle is $\\boxed{45^\\circ}.$",
            "45^\\circ",
            "Precalculus",
            1,
            "test/precalculus/24313.json",
        ),
        r(
            "How many vertical asymptotes does the graph of $y=\\frac{2}{x^2+x-6}$ have?",
            "The denominator factors as $(x+3)(x-2)$, and the numerator is never zero, so there are $\\boxed{2}$ vertical asymptotes.",
            "2",
            "Algebra",
            3,
            "test/algebra/1.json",
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
        zero_shot_problems(&Math500, None, fixture_rows())
    }

    #[test]
    fn sources_name_the_test_split() {
        let expected = Source::new("HuggingFaceH4/MATH-500", None, "test");
        assert_sources_ignore_tasks(&Math500, expected, &["Algebra"]);
    }

    #[test]
    fn prompt_is_the_bare_problem() {
        let p = &fixture_problems()[1];
        let expected = "If $f(x) = \\frac{3x-2}{x-2}$, what is the value of $f(-2) +f(-1)+f(0)$? Express your answer as a common fraction.";
        let gold = "$f(-2)+f(-1)+f(0)=\\frac{3(-2)-2}{-2-2}+\\frac{3(-1)-2}{-1-2}+\\frac{3(0)-2}{0-2}=\\frac{-8}{-4}+\\frac{-5}{-3}+\\frac{-2}{-2}=2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$";
        assert_user_problem(p, expected, gold, "Algebra", 32768);
    }

    #[test]
    fn tasks_are_subjects_in_row_order_and_filtering_is_ignored() {
        let all = fixture_problems();
        let tasks: Vec<&str> = all.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(
            tasks,
            [
                "Precalculus",
                "Algebra",
                "Precalculus",
                "Algebra",
                "Precalculus",
                "Algebra"
            ]
        );
        let filtered = zero_shot_problems(&Math500, Some(&["Algebra", "nope"]), fixture_rows());
        assert_eq!(filtered, all);
    }

    #[test]
    fn missing_solution_and_subject_fall_back() {
        let rows = vec![row(vec![
            ("problem", json!("p")),
            ("solution", json!(null)),
        ])];
        let p = &Math500.build(&zero_shot_req(None), &[rows]).unwrap()[0];
        assert_eq!(p.ground_truth, "");
        assert_eq!(p.task, "math_500");
        let bad = vec![row(vec![("solution", json!("s"))])];
        let err = Math500.build(&zero_shot_req(None), &[bad]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "HuggingFaceH4/MATH-500:test row 0: missing column \"problem\""
        );
    }

    #[test]
    fn oracle_boxes_the_gold_expression() {
        let all = fixture_problems();
        assert_eq!(
            Math500.oracle_answer(&all[0], true),
            "The final answer is $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$"
        );
        assert_eq!(
            Math500.oracle_answer(&all[1], true),
            "The final answer is $\\boxed{\\frac{14}{3}}$"
        );
        assert_eq!(
            Math500.oracle_answer(&all[1], false),
            "The final answer is $\\boxed{123456789}$"
        );
        let odd = Problem {
            ground_truth: "so \\boxed{123456789}.".into(),
            ..Problem::default()
        };
        assert_eq!(
            Math500.oracle_answer(&odd, false),
            "The final answer is $\\boxed{987654321}$"
        );
    }

    #[test]
    fn last_boxed_balances_braces() {
        assert_eq!(
            last_boxed("\\boxed{1} then \\boxed{\\frac{a}{b}}."),
            Some("\\frac{a}{b}")
        );
        assert_eq!(last_boxed("\\fbox{7}"), Some("7"));
        assert_eq!(last_boxed("\\boxed{unclosed"), None);
        assert_eq!(last_boxed("none"), None);
    }

    #[test]
    fn fixture_is_a_root_test_jsonl() {
        assert_rows_file(
            &Math500.fixture(),
            "HuggingFaceH4/MATH-500",
            "test.jsonl",
            6,
        );
        assert!(!README.contains("configs:"));
    }
}
