//! BIG-Bench-Hard (`lukaemon/bbh`, one config per subtask), as AIPerf's `benchmarks/bigbench.py`
//! builds it through DeepEval's `BigBenchHardTemplate`: the subtask's bundled CoT (or plain
//! few-shot) prompt file cut to `n_shots` examples, the row's input, DeepEval's per-task
//! confinement line, one user message. The prompt files are DeepEval's, vendored under
//! `data/bbh/` (see its README).

use super::mmlu::{bad_row, check_source_count, column, str_column};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};
use serde_json::{json, Value};

const REPO: &str = "lukaemon/bbh";
const SPLIT: &str = "test";
/// DeepEval asserts `n_shots <= 3` (each prompt file holds three worked examples).
const MAX_N_SHOTS: u32 = 3;
const GENERATION_SIZE: u32 = 1024;

/// One BBH subtask: its name (DeepEval's `BigBenchHardTask` value), DeepEval's confinement
/// statement, and the CoT and plain few-shot prompt files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BbhTask {
    pub name: &'static str,
    pub confinement: &'static str,
    cot_prompt: &'static str,
    shot_prompt: &'static str,
}

macro_rules! task {
    ($name:literal, $confinement:literal) => {
        BbhTask {
            name: $name,
            confinement: $confinement,
            cot_prompt: include_str!(concat!("data/bbh/cot_prompts/", $name, ".txt")),
            shot_prompt: include_str!(concat!("data/bbh/shot_prompts/", $name, ".txt")),
        }
    };
}

/// DeepEval's `BigBenchHardTask` members in its order, with `bbh_confinement_statements_dict`.
pub const TASKS: [BbhTask; 27] = [
    task!("boolean_expressions", "\n\nOutput 'True' or 'False'. Full answer not needed."),
    task!("causal_judgement", "\n\nOutput 'Yes' or 'No'. Full answer not needed."),
    task!("date_understanding", "\n\nOutput '(A)', '(B)', '(C)', '(D)', '(E)', or '(F)'. Full answer not needed."),
    task!("disambiguation_qa", "\n\nOutput '(A)', '(B)', or '(C)'. Full answer not needed."),
    task!("dyck_languages", "\n\nOutput only the sequence of parentheses characters separated by white space. Full answer not needed."),
    task!("formal_fallacies", "\n\nOutput 'invalid' or 'valid'. Full answer not needed."),
    task!("geometric_shapes", "\n\nOutput '(A)', '(B)', '(C)', '(D)', '(E)', '(F)', '(G)', '(H)', '(I)', '(J)', or '(K)'. Full answer not needed."),
    task!("hyperbaton", "\n\nOutput '(A)' or'(B)'. Full answer not needed."),
    task!("logical_deduction_five_objects", "\n\nOutput '(A)', '(B)', '(C)', '(D)', or '(E)'. Full answer not needed."),
    task!("logical_deduction_seven_objects", "\n\nOutput '(A)', '(B)', '(C)', '(D)', '(E)', '(F)', or '(G)'. Full answer not needed."),
    task!("logical_deduction_three_objects", "\n\nOutput '(A)', '(B)', or '(C)'. Full answer not needed."),
    task!("movie_recommendation", "\n\nOutput '(A)', '(B)', '(C)', '(D)', or '(E)'. Full answer not needed."),
    task!("multistep_arithmetic_two", "\n\nOutput the numerical answer. Full answer not needed."),
    task!("navigate", "\n\nOutput 'Yes' or 'No'. Full answer not needed."),
    task!("object_counting", "\n\nOutput the numerical answer. Full answer not needed."),
    task!("penguins_in_a_table", "\n\nOutput '(A)', '(B)', '(C)', '(D)', or '(E)'. Full answer not needed."),
    task!("reasoning_about_colored_objects", "\n\nOutput '(A)', '(B)', '(C)', '(D)', '(E)', '(F)', '(G)', '(H)', '(I)', '(J)', '(K)', '(L)', '(M)', '(N)', '(O)', '(P)', '(Q)', or '(R)'. Full answer not needed."),
    task!("ruin_names", "\n\nOutput '(A)', '(B)', '(C)', or '(D)'. Full answer not needed."),
    task!("salient_translation_error_detection", "\n\nOutput '(A)', '(B)', '(C)', '(D)', '(E)', or '(F)'. Full answer not needed."),
    task!("snarks", "\n\nOutput '(A)' or'(B)'. Full answer not needed."),
    task!("sports_understanding", "\n\nOutput 'yes' or 'no'. Full answer not needed."),
    task!("temporal_sequences", "\n\nOutput '(A)', '(B)', '(C)', or '(D)'. Full answer not needed."),
    task!("tracking_shuffled_objects_five_objects", "\n\nOutput '(A)', '(B)', '(C)', '(D)', or '(E)'. Full answer not needed."),
    task!("tracking_shuffled_objects_seven_objects", "\n\nOutput '(A)', '(B)', '(C)', '(D)', '(E)', '(F)', or '(G)'. Full answer not needed."),
    task!("tracking_shuffled_objects_three_objects", "\n\nOutput '(A)', '(B)', or '(C)'. Full answer not needed."),
    task!("web_of_lies", "\n\nOutput 'Yes' or 'No'. Full answer not needed."),
    task!("word_sorting", "\n\nOutput only the sequence of words separated by white space. Full answer not needed."),
];

/// BIG-Bench-Hard: 27 subtasks, 3-shot CoT by default, graded by `exact_match`.
pub struct Bigbench;

impl Benchmark for Bigbench {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Bigbench
    }

    /// Each selected subtask's `test` split.
    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        check_n_shots(req.n_shots)?;
        Ok(resolve_tasks(req.tasks.as_deref())?
            .into_iter()
            .map(|task| Source::new(REPO, Some(task.name), SPLIT))
            .collect())
    }

    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        let sources = self.sources(req)?;
        check_source_count("bigbench", &sources, rows)?;
        let tasks = resolve_tasks(req.tasks.as_deref())?;
        let mut problems = Vec::new();
        for ((task, source), rows) in tasks.iter().zip(&sources).zip(rows) {
            let head = prompt_head(task, req.n_shots, req.enable_cot);
            for (i, row) in rows.iter().enumerate() {
                problems.push(problem(source, i, row, task, &head)?);
            }
        }
        Ok(problems)
    }

    /// The target itself (exact match on the stripped output), or `not <target>`.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = problem.ground_truth.trim();
        if correct {
            gold.to_string()
        } else {
            format!("not {gold}")
        }
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![fixture()]
    }
}

fn check_n_shots(n_shots: u32) -> Result<(), AccuracyError> {
    if n_shots <= MAX_N_SHOTS {
        return Ok(());
    }
    Err(AccuracyError::Invalid(format!(
        "BBH supports at most {MAX_N_SHOTS} few-shot examples (got {n_shots}); DeepEval \
         asserts ``n_shots <= 3`` because the canonical prompt files ship exactly \
         {MAX_N_SHOTS} worked examples per subtask."
    )))
}

/// `--accuracy-tasks` to subtasks: none or `["all"]` is every subtask; a name matches a
/// subtask exactly or, upper-cased, its enum name. `all` mixed with other names is an error.
fn resolve_tasks(tasks: Option<&[String]>) -> Result<Vec<&'static BbhTask>, AccuracyError> {
    let tasks = match tasks {
        Some(t) if !t.is_empty() => t,
        _ => return Ok(TASKS.iter().collect()),
    };
    if tasks.iter().any(|t| t.to_lowercase() == "all") {
        if tasks.len() == 1 {
            return Ok(TASKS.iter().collect());
        }
        return Err(AccuracyError::Invalid(format!(
            "'all' cannot be mixed with other task names. Pass 'all' by itself (or omit \
             --accuracy-tasks) to select every BBH subtask, or list specific subtasks. \
             Got: {tasks:?}"
        )));
    }
    let mut resolved = Vec::new();
    let mut unknown = Vec::new();
    for name in tasks {
        let upper = name.to_uppercase();
        match TASKS
            .iter()
            .find(|t| t.name == name || t.name.to_uppercase() == upper)
        {
            Some(task) => resolved.push(task),
            None => unknown.push(name.as_str()),
        }
    }
    if unknown.is_empty() {
        return Ok(resolved);
    }
    let mut available: Vec<&str> = TASKS.iter().map(|t| t.name).collect();
    available.sort_unstable();
    Err(AccuracyError::UnknownTasks {
        benchmark: "bigbench".into(),
        unknown: unknown.join(", "),
        available: available.join(", "),
    })
}

/// DeepEval's `generate_output` up to the question: `Task description: ` and the prompt
/// file's first `n_shots + 1` blank-line-separated sections (description and examples).
fn prompt_head(task: &BbhTask, n_shots: u32, enable_cot: bool) -> String {
    let file = if enable_cot {
        task.cot_prompt
    } else {
        task.shot_prompt
    };
    let sections: Vec<&str> = file.split("\n\n").take(n_shots as usize + 1).collect();
    format!("Task description: {}", sections.join("\n\n"))
}

fn problem(
    source: &Source,
    i: usize,
    row: &Row,
    task: &BbhTask,
    head: &str,
) -> Result<Problem, AccuracyError> {
    let input = str_column(source, i, row, "input")?;
    // `str(row["target"])`: targets are strings, numbers are taken as written.
    let ground_truth = match column(source, i, row, "target")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(bad_row(source, i, "column `target` is not a string")),
    };
    let prompt = format!("{head}\n\nQ: {input}\nA: {}", task.confinement);
    Ok(Problem::user_message(
        prompt,
        ground_truth,
        task.name,
        GENERATION_SIZE,
    ))
}

const FIXTURE_TASKS: [&str; 2] = ["boolean_expressions", "sports_understanding"];

fn bbh_row(input: &str, target: &str) -> Row {
    let mut row = Row::new();
    row.insert("input".into(), json!(input));
    row.insert("target".into(), json!(target));
    row
}

fn fixture_rows(task: &str) -> Vec<Row> {
    match task {
        "boolean_expressions" => vec![
            bbh_row("not ( True ) and ( True ) is", "False"),
            bbh_row("True and not not ( not False ) is", "True"),
            bbh_row("not True or False or ( False ) is", "False"),
        ],
        "sports_understanding" => vec![
            bbh_row(
                "Is the following sentence plausible? \"Joao Moutinho caught the screen pass in \
                 the NFC championship.\"",
                "no",
            ),
            bbh_row(
                "Is the following sentence plausible? \"Carson Wentz set the pick and roll.\"",
                "no",
            ),
            bbh_row(
                "Is the following sentence plausible? \"Jonas Valanciunas beat the buzzer.\"",
                "yes",
            ),
            bbh_row(
                "Is the following sentence plausible? \"Malcolm Brogdon eurostepped to the \
                 basket in the NBA Championship.\"",
                "yes",
            ),
        ],
        _ => Vec::new(),
    }
}

fn fixture_readme() -> String {
    let mut text = String::from("---\nconfigs:\n");
    for task in FIXTURE_TASKS {
        text.push_str(&format!(
            "- config_name: {task}\n  data_files:\n  - split: test\n    path: {task}/test-*\n"
        ));
    }
    text.push_str("---\n\n# BIG-Bench Hard (fixture)\n");
    text
}

fn fixture() -> Fixture {
    let mut files = vec![FixtureFile::readme(fixture_readme())];
    files.extend(FIXTURE_TASKS.iter().map(|task| {
        FixtureFile::rows(
            format!("{task}/test-00000-of-00001.parquet"),
            fixture_rows(task),
        )
    }));
    Fixture { repo: REPO, files }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_invalid, assert_user_problem, build, paths, readme, req, unknown_tasks,
    };
    use super::*;

    const BOOL_CONFINEMENT: &str = "\n\nOutput 'True' or 'False'. Full answer not needed.";

    #[test]
    fn zero_shot_prompt_is_byte_exact() {
        let problems = build(&Bigbench, &req(Some(&["boolean_expressions"]), 0, false));
        let p = &problems[0];
        let expected = format!(
            "Task description: Evaluate the result of a random Boolean expression.\n\n\
             Q: not ( True ) and ( True ) is\nA: {BOOL_CONFINEMENT}"
        );
        assert_user_problem(p, &expected, "False", "boolean_expressions", 1024);
        // Zero shots: CoT and plain files share the description.
        let cot = build(&Bigbench, &req(Some(&["boolean_expressions"]), 0, true));
        assert_eq!(cot[0].prompt, p.prompt);
    }

    #[test]
    fn one_shot_plain_and_cot_prompts_are_byte_exact() {
        let plain = build(&Bigbench, &req(Some(&["boolean_expressions"]), 1, false));
        assert_eq!(
            plain[0].prompt,
            format!(
                "Task description: Evaluate the result of a random Boolean expression.\n\n\
                 Q: not ( ( not not True ) ) is\nA: False\n\n\
                 Q: not ( True ) and ( True ) is\nA: {BOOL_CONFINEMENT}"
            )
        );
        let cot = build(&Bigbench, &req(Some(&["sports_understanding"]), 1, true));
        assert_eq!(
            cot[0].prompt,
            "Task description: Determine whether an artificially constructed sentence relating \
             to sports is plausible or not.\n\n\
             Q: Is the following sentence plausible? \"Bam Adebayo scored a reverse layup in the \
             Western Conference Finals.\"\nA: Let's think step by step. Bam Adebayo is an \
             American basketball player. Scoring a reverse layup in the Western Conference \
             Finals is part of the NBA Finals. So the answer is yes.\n\n\
             Q: Is the following sentence plausible? \"Joao Moutinho caught the screen pass in \
             the NFC championship.\"\nA: \n\nOutput 'yes' or 'no'. Full answer not needed."
        );
    }

    #[test]
    fn three_shots_take_three_examples() {
        let cot = build(&Bigbench, &req(Some(&["boolean_expressions"]), 3, true));
        let prompt = &cot[0].prompt;
        assert_eq!(prompt.matches("\n\nQ: ").count(), 4);
        assert!(prompt.contains("Let's think step by step."));
        assert!(prompt.ends_with(&format!(
            "Q: not ( True ) and ( True ) is\nA: {BOOL_CONFINEMENT}"
        )));
        let plain = build(&Bigbench, &req(Some(&["boolean_expressions"]), 3, false));
        assert!(!plain[0].prompt.contains("Let's think step by step."));
        assert_eq!(plain[0].prompt.matches("\n\nQ: ").count(), 4);
    }

    #[test]
    fn tasks_order_and_ground_truths() {
        let problems = build(
            &Bigbench,
            &req(
                Some(&["SPORTS_UNDERSTANDING", "boolean_expressions"]),
                3,
                true,
            ),
        );
        let tasks: Vec<&str> = problems.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(
            tasks,
            [
                "sports_understanding",
                "sports_understanding",
                "sports_understanding",
                "sports_understanding",
                "boolean_expressions",
                "boolean_expressions",
                "boolean_expressions"
            ]
        );
        let golds: Vec<&str> = problems.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, ["no", "no", "yes", "yes", "False", "True", "False"]);
        let all = Bigbench.sources(&req(None, 3, true)).expect("sources");
        assert_eq!(all.len(), 27);
        assert_eq!(
            all[0],
            Source::new(REPO, Some("boolean_expressions"), "test")
        );
        assert_eq!(all[26], Source::new(REPO, Some("word_sorting"), "test"));
        assert_eq!(
            Bigbench
                .sources(&req(Some(&["All"]), 3, true))
                .expect("all")
                .len(),
            27
        );
    }

    #[test]
    fn bad_requests_and_rows() {
        let (unknown, available) =
            unknown_tasks(&Bigbench, &req(Some(&["navigate", "navigation"]), 3, true));
        assert_eq!(unknown, "navigation");
        assert!(available.starts_with("boolean_expressions, causal_judgement"));
        assert_invalid(&Bigbench, &req(Some(&["all", "navigate"]), 3, true));
        assert_invalid(&Bigbench, &req(None, 4, true));
        let r = req(Some(&["navigate"]), 3, true);
        let mut row = bbh_row("Q?", "Yes");
        row.insert("target".into(), json!(["Yes"]));
        assert_eq!(
            Bigbench.build(&r, &[vec![bbh_row("Q?", "No"), row]]),
            Err(AccuracyError::BadRow {
                source_name: "lukaemon/bbh[navigate]:test".into(),
                row: 1,
                reason: "column `target` is not a string".into(),
            })
        );
    }

    #[test]
    fn every_task_has_prompts_and_confinement() {
        for task in &TASKS {
            assert!(task.confinement.starts_with("\n\nOutput "), "{}", task.name);
            for file in [task.cot_prompt, task.shot_prompt] {
                assert!(file.split("\n\n").count() >= 4, "{}", task.name);
            }
        }
        assert!(TASKS[13].name == "navigate");
    }

    #[test]
    fn oracle_answers_round_trip() {
        let r = req(
            Some(&["boolean_expressions", "sports_understanding"]),
            3,
            true,
        );
        for p in build(&Bigbench, &r) {
            assert_eq!(
                Bigbench.oracle_answer(&p, true).trim(),
                p.ground_truth.trim()
            );
            assert_ne!(
                Bigbench.oracle_answer(&p, false).trim(),
                p.ground_truth.trim()
            );
        }
    }

    #[test]
    fn fixture_has_real_layout() {
        assert_eq!(
            paths(&Bigbench),
            [
                "README.md",
                "boolean_expressions/test-00000-of-00001.parquet",
                "sports_understanding/test-00000-of-00001.parquet"
            ]
        );
        assert!(readme(&Bigbench)
            .contains("- config_name: sports_understanding\n  data_files:\n  - split: test\n"));
    }
}
