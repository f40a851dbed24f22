//! MMLU-Pro (`TIGER-Lab/MMLU-Pro`), as AIPerf's `benchmarks/mmlu_pro.py` builds it (a port of
//! TIGER-Lab's `evaluate_from_api.py`): per-category instruction, the category's first
//! `n_shots` validation rows as few-shots, options `A`..`J` without `N/A`, one user message.

use super::mmlu::{bad_row, check_source_count, resolve_named, str_column, str_list_column};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};
use serde_json::{json, Value};
use std::collections::HashMap;

const REPO: &str = "TIGER-Lab/MMLU-Pro";
const CHOICE_MAP: &str = "ABCDEFGHIJ";
const GENERATION_SIZE: u32 = 4000;

/// AIPerf's `MMLU_PRO_CATEGORIES`, in its order.
pub const CATEGORIES: [&str; 14] = [
    "biology",
    "business",
    "chemistry",
    "computer science",
    "economics",
    "engineering",
    "health",
    "history",
    "law",
    "math",
    "philosophy",
    "physics",
    "psychology",
    "other",
];

/// MMLU-Pro: 14 categories, up to ten options, CoT by default, graded by `mmlu_pro`.
pub struct MmluPro;

impl Benchmark for MmluPro {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::MmluPro
    }

    /// The `test` split, then the `validation` split (the few-shot pool).
    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        resolve_categories(req.tasks.as_deref())?;
        Ok(vec![
            Source::new(REPO, None, "test"),
            Source::new(REPO, None, "validation"),
        ])
    }

    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        let sources = self.sources(req)?;
        check_source_count("mmlu_pro", &sources, rows)?;
        let wanted = resolve_categories(req.tasks.as_deref())?;
        let mut shots_by_category: HashMap<String, Vec<ProRow>> = HashMap::new();
        for (i, row) in rows[1].iter().enumerate() {
            let row = parse_row(&sources[1], i, row)?;
            shots_by_category
                .entry(row.category.clone())
                .or_default()
                .push(row);
        }
        let mut problems = Vec::new();
        for (i, row) in rows[0].iter().enumerate() {
            let row = parse_row(&sources[0], i, row)?;
            if !wanted.contains(&row.category.as_str()) {
                continue;
            }
            let shots = shots_by_category
                .get(&row.category)
                .map(|s| &s[..s.len().min(req.n_shots as usize)])
                .unwrap_or_default();
            problems.push(problem(&row, shots, req.enable_cot));
        }
        Ok(problems)
    }

    /// `The answer is (X).` with the gold letter, or with the next letter round A..J.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = problem.ground_truth.trim();
        let letter = if correct {
            gold.to_string()
        } else {
            let next = CHOICE_MAP
                .find(gold)
                .filter(|_| gold.len() == 1)
                .map_or(0, |i| (i + 1) % CHOICE_MAP.len());
            CHOICE_MAP[next..=next].to_string()
        };
        format!("Let's think step by step. The answer is ({letter}).")
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![fixture()]
    }
}

/// `--accuracy-tasks` to categories: none or `all` is every category.
fn resolve_categories(tasks: Option<&[String]>) -> Result<Vec<&'static str>, AccuracyError> {
    match tasks {
        Some(t) if !t.is_empty() && !t.iter().any(|t| t == "all") => {
            resolve_named("mmlu_pro", t, &CATEGORIES)
        }
        _ => Ok(CATEGORIES.to_vec()),
    }
}

/// The columns of an MMLU-Pro row AIPerf reads.
#[derive(Debug, Clone)]
struct ProRow {
    question: String,
    options: Vec<String>,
    /// `str(row["answer"])`: the gold letter.
    answer: String,
    cot_content: String,
    category: String,
}

fn parse_row(source: &Source, i: usize, row: &Row) -> Result<ProRow, AccuracyError> {
    let answer = match row.get("answer") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(bad_row(source, i, "column `answer` is not a string")),
        None => return Err(bad_row(source, i, "missing column `answer`")),
    };
    let cot_content = match row.get("cot_content") {
        Some(Value::String(s)) => s.clone(),
        // Test rows carry an empty or null `cot_content`; only few-shots read it.
        Some(Value::Null) | None => String::new(),
        Some(_) => return Err(bad_row(source, i, "column `cot_content` is not a string")),
    };
    Ok(ProRow {
        question: str_column(source, i, row, "question")?.to_string(),
        options: str_list_column(source, i, row, "options")?,
        answer,
        cot_content,
        category: str_column(source, i, row, "category")?.to_string(),
    })
}

/// `Question: ...\nOptions: A. x\nB. y\n...` (options other than `N/A`, at most ten).
fn question_block(row: &ProRow) -> String {
    let mut text = format!("Question: {}\nOptions: ", row.question);
    let options = row.options.iter().filter(|o| o.as_str() != "N/A");
    for (key, option) in CHOICE_MAP.chars().zip(options) {
        text.push_str(&format!("{key}. {option}\n"));
    }
    text
}

/// AIPerf's `_format_example`: the question block and `Answer: <answer>` (empty becomes the
/// CoT primer; a leading `A: ` is dropped).
fn example(row: &ProRow, answer: &str) -> String {
    let answer = if answer.is_empty() {
        "Let's think step by step."
    } else {
        answer.strip_prefix("A: ").unwrap_or(answer)
    };
    format!("{}Answer: {answer}\n\n", question_block(row))
}

fn prompt(row: &ProRow, shots: &[ProRow], enable_cot: bool) -> String {
    let category = &row.category;
    let mut text = if enable_cot {
        format!(
            "The following are multiple choice questions (with answers) about {category}. \
             Think step by step and then output the answer in the format of \
             \"The answer is (X)\" at the end.\n\n"
        )
    } else {
        format!("The following are multiple choice questions (with answers) about {category}.\n\n")
    };
    for shot in shots {
        let answer = if enable_cot {
            &shot.cot_content
        } else {
            &shot.answer
        };
        text.push_str(&example(shot, answer));
    }
    if enable_cot {
        text.push_str(&example(row, ""));
    } else {
        text.push_str(&question_block(row));
        text.push_str("Answer: \n\n");
    }
    text
}

fn problem(row: &ProRow, shots: &[ProRow], enable_cot: bool) -> Problem {
    let prompt = prompt(row, shots, enable_cot);
    Problem::user_message(
        prompt,
        row.answer.clone(),
        row.category.clone(),
        GENERATION_SIZE,
    )
}

/// One row in the repo's schema.
fn pro_row(
    id: u64,
    question: &str,
    options: &[&str],
    answer: usize,
    cot: &str,
    category: &str,
) -> Row {
    let letter = &CHOICE_MAP[answer..=answer];
    let mut row = Row::new();
    row.insert("question_id".into(), json!(id));
    row.insert("question".into(), json!(question));
    row.insert("options".into(), json!(options));
    row.insert("answer".into(), json!(letter));
    row.insert("answer_index".into(), json!(answer));
    row.insert("cot_content".into(), json!(cot));
    row.insert("category".into(), json!(category));
    row.insert("src".into(), json!(format!("ori_mmlu-{category}")));
    row
}

fn fixture_test_rows() -> Vec<Row> {
    vec![
        pro_row(
            70,
            "What is 2 + 3?",
            &["4", "5", "6", "N/A", "7"],
            1,
            "",
            "math",
        ),
        pro_row(
            71,
            "A tort is a",
            &["crime", "civil wrong", "contract"],
            1,
            "",
            "law",
        ),
        pro_row(72, "What is 3 * 3?", &["6", "9", "12", "3"], 1, "", "math"),
        pro_row(
            73,
            "Stare decisis means",
            &["precedent", "appeal", "bail"],
            0,
            "",
            "law",
        ),
        pro_row(
            74,
            "What is 10 / 2?",
            &["2", "5", "8", "20", "N/A"],
            1,
            "",
            "math",
        ),
        pro_row(
            75,
            "Mens rea is",
            &["guilty act", "guilty mind", "bail", "jury"],
            1,
            "",
            "law",
        ),
    ]
}

fn fixture_validation_rows() -> Vec<Row> {
    let math = |id: u64, q: &str, opts: &[&str], answer: usize, cot: &str| {
        pro_row(id, q, opts, answer, cot, "math")
    };
    let law = |id: u64, q: &str, opts: &[&str], answer: usize, cot: &str| {
        pro_row(id, q, opts, answer, cot, "law")
    };
    vec![
        math(
            0,
            "What is 1 + 1?",
            &["1", "2", "3"],
            1,
            "A: Let's think step by step. 1 + 1 = 2. The answer is (B).",
        ),
        law(
            1,
            "A contract needs",
            &["consideration", "a jury", "a judge"],
            0,
            "A: Let's think step by step. Contracts need consideration. The answer is (A).",
        ),
        math(
            2,
            "What is 2 * 2?",
            &["2", "4", "N/A", "8"],
            1,
            "A: Let's think step by step. 2 * 2 = 4. The answer is (B).",
        ),
        math(
            3,
            "What is 9 - 3?",
            &["3", "6", "9"],
            1,
            "Nine minus three is six. The answer is (B).",
        ),
        law(
            4,
            "Habeas corpus concerns",
            &["detention", "taxes", "land"],
            0,
            "A: Let's think step by step. It concerns unlawful detention. The answer is (A).",
        ),
        math(
            5,
            "What is 5 + 5?",
            &["10", "15", "N/A"],
            0,
            "A: Let's think step by step. The answer is (A).",
        ),
        law(
            6,
            "A plaintiff is the",
            &["defendant", "suer", "judge"],
            1,
            "A: Let's think step by step. The plaintiff sues. The answer is (B).",
        ),
        math(
            7,
            "What is 7 - 7?",
            &["0", "7", "14"],
            0,
            "A: Let's think step by step. The answer is (A).",
        ),
        law(
            8,
            "Tort damages are",
            &["criminal", "civil", "divine"],
            1,
            "A: Let's think step by step. The answer is (B).",
        ),
        law(
            9,
            "An appeal goes to a",
            &["higher court", "lower court"],
            0,
            "A: Let's think step by step. The answer is (A).",
        ),
        math(
            10,
            "What is 4 / 2?",
            &["1", "2", "3"],
            1,
            "A: Let's think step by step. The answer is (B).",
        ),
        law(
            11,
            "A felony is",
            &["minor", "serious", "civil"],
            1,
            "A: Let's think step by step. The answer is (B).",
        ),
    ]
}

fn fixture_readme() -> String {
    "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n    path: \
     data/test-*\n  - split: validation\n    path: data/validation-*\n---\n\n# MMLU-Pro \
     (fixture)\n"
        .to_string()
}

fn fixture() -> Fixture {
    Fixture {
        repo: REPO,
        files: vec![
            FixtureFile::readme(fixture_readme()),
            FixtureFile::rows("data/test-00000-of-00001.parquet", fixture_test_rows()),
            FixtureFile::rows(
                "data/validation-00000-of-00001.parquet",
                fixture_validation_rows(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{build, paths, readme, req, unknown_tasks};
    use super::*;
    use crate::ChatMessage;

    const MATH_COT_HEAD: &str = "The following are multiple choice questions (with answers) \
         about math. Think step by step and then output the answer in the format of \"The \
         answer is (X)\" at the end.\n\n";

    #[test]
    fn cot_two_shot_prompt_is_byte_exact() {
        let problems = build(&MmluPro, &req(Some(&["math"]), 2, true));
        assert_eq!(
            problems[0].prompt,
            format!(
                "{MATH_COT_HEAD}\
                 Question: What is 1 + 1?\nOptions: A. 1\nB. 2\nC. 3\n\
                 Answer: Let's think step by step. 1 + 1 = 2. The answer is (B).\n\n\
                 Question: What is 2 * 2?\nOptions: A. 2\nB. 4\nC. 8\n\
                 Answer: Let's think step by step. 2 * 2 = 4. The answer is (B).\n\n\
                 Question: What is 2 + 3?\nOptions: A. 4\nB. 5\nC. 6\nD. 7\n\
                 Answer: Let's think step by step.\n\n"
            )
        );
        assert_eq!(
            problems[0].messages,
            Some(vec![ChatMessage::user(problems[0].prompt.clone())])
        );
        assert_eq!(problems[0].generation_size, Some(4000));
        assert_eq!(problems[0].stop, None);
    }

    #[test]
    fn cot_shot_without_prefix_is_kept_whole() {
        let problems = build(&MmluPro, &req(Some(&["math"]), 3, true));
        assert!(problems[0].prompt.contains(
            "Options: A. 3\nB. 6\nC. 9\nAnswer: Nine minus three is six. The answer is (B).\n\n"
        ));
    }

    #[test]
    fn non_cot_prompt_uses_bare_letters() {
        let problems = build(&MmluPro, &req(Some(&["law"]), 2, false));
        assert_eq!(
            problems[0].prompt,
            "The following are multiple choice questions (with answers) about law.\n\n\
             Question: A contract needs\nOptions: A. consideration\nB. a jury\nC. a judge\n\
             Answer: A\n\n\
             Question: Habeas corpus concerns\nOptions: A. detention\nB. taxes\nC. land\n\
             Answer: A\n\n\
             Question: A tort is a\nOptions: A. crime\nB. civil wrong\nC. contract\nAnswer: \n\n"
        );
    }

    #[test]
    fn zero_shot_prompts() {
        let cot = build(&MmluPro, &req(Some(&["math"]), 0, true));
        assert_eq!(
            cot[2].prompt,
            format!(
                "{MATH_COT_HEAD}Question: What is 10 / 2?\nOptions: A. 2\nB. 5\nC. 8\nD. 20\n\
                 Answer: Let's think step by step.\n\n"
            )
        );
        let plain = build(&MmluPro, &req(Some(&["math"]), 0, false));
        assert_eq!(
            plain[0].prompt,
            "The following are multiple choice questions (with answers) about math.\n\n\
             Question: What is 2 + 3?\nOptions: A. 4\nB. 5\nC. 6\nD. 7\nAnswer: \n\n"
        );
    }

    #[test]
    fn test_split_order_filtering_and_ground_truths() {
        let all = build(&MmluPro, &req(None, 5, true));
        let tasks: Vec<&str> = all.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(tasks, ["math", "law", "math", "law", "math", "law"]);
        let golds: Vec<&str> = all.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, ["B", "B", "B", "A", "B", "B"]);
        // Five shots of the row's own category, in validation order.
        assert_eq!(all[1].prompt.matches("Question: ").count(), 6);
        assert!(!all[1].prompt.contains("What is"));
        let law = build(&MmluPro, &req(Some(&["law", "all"]), 5, true));
        assert_eq!(law.len(), 6);
        let only = build(&MmluPro, &req(Some(&["law"]), 5, true));
        assert_eq!(only.len(), 3);
        assert!(only.iter().all(|p| p.task == "law"));
    }

    #[test]
    fn unknown_categories_are_rejected() {
        let (unknown, available) =
            unknown_tasks(&MmluPro, &req(Some(&["math", "computer_science"]), 5, true));
        assert_eq!(unknown, "computer_science");
        assert!(available.contains("computer science"));
        assert!(MmluPro
            .sources(&req(Some(&["computer science"]), 5, true))
            .is_ok());
    }

    #[test]
    fn bad_rows_name_source_row_and_column() {
        let r = req(None, 0, true);
        let mut rows = vec![fixture_test_rows(), fixture_validation_rows()];
        rows[0][2].insert("options".into(), json!("A, B"));
        let err = MmluPro.build(&r, &rows).expect_err("bad row");
        assert_eq!(
            err,
            AccuracyError::BadRow {
                source_name: "TIGER-Lab/MMLU-Pro:test".into(),
                row: 2,
                reason: "column `options` is not a list of strings".into(),
            }
        );
    }

    #[test]
    fn oracle_answers_round_trip() {
        for p in build(&MmluPro, &req(None, 5, true)) {
            let right = MmluPro.oracle_answer(&p, true);
            let wrong = MmluPro.oracle_answer(&p, false);
            assert!(right.ends_with(&format!("The answer is ({}).", p.ground_truth)));
            assert!(wrong.contains("The answer is ("));
            assert!(!wrong.contains(&format!("({})", p.ground_truth)));
        }
        let j = Problem {
            ground_truth: "J".into(),
            ..Problem::default()
        };
        assert!(MmluPro.oracle_answer(&j, false).ends_with("(A)."));
    }

    #[test]
    fn fixture_has_real_layout() {
        assert_eq!(
            paths(&MmluPro),
            [
                "README.md",
                "data/test-00000-of-00001.parquet",
                "data/validation-00000-of-00001.parquet"
            ]
        );
        assert!(readme(&MmluPro).contains("  - split: validation\n    path: data/validation-*\n"));
        let row = &fixture_test_rows()[0];
        assert_eq!(row["answer_index"], json!(1));
        assert_eq!(row["answer"], json!("B"));
    }
}
