//! LiveCodeBench code generation (`lcb_codegeneration`): AIPerf 0.13's
//! `benchmarks/lcb_codegeneration.py`, whose prompt is lighteval 0.13.0's `prepare_prompt`
//! (`lighteval/tasks/tasks/lcb/main.py`) byte for byte.
//!
//! AIPerf loads `load_dataset("livecodebench/code_generation_lite", <release tag>,
//! split="test", trust_remote_code=True)`; the repo's loading script maps the tag to JSON
//! Lines files (`test.jsonl`, `test2.jsonl` ... `test6.jsonl`), which is what
//! [`release_files`] reproduces so the rows can be read without running the script. The tag is
//! `AIPERF_ACCURACY_LCB_RELEASE_TAG` (default `v4_v5`, lighteval's base subset).
//!
//! Each problem's ground truth is AIPerf's orjson blob of the row's `starter_code`,
//! `public_test_cases`, `private_test_cases` (still base64+zlib+pickle encoded, as on the
//! Hub) and `metadata`, passed through verbatim; the `code_execution` grader decodes it.

use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::graders::code_execution::parse_ground_truth;
use crate::{AccuracyError, Problem, Row};
use serde_json::Value;

/// The Hub repo AIPerf loads.
pub const DATASET_NAME: &str = "livecodebench/code_generation_lite";
/// The one task (AIPerf's `TASK_NAME`).
pub const TASK_NAME: &str = "lcb_codegeneration";
/// lighteval's `generation_size` for LCB (the model's full reasoning budget).
pub const GENERATION_SIZE: u32 = 32768;
/// AIPerf's `Environment.ACCURACY.LCB_RELEASE_TAG` default.
pub const DEFAULT_RELEASE_TAG: &str = "v4_v5";
/// The environment variable that overrides the release tag, as in AIPerf.
pub const RELEASE_TAG_ENV: &str = "AIPERF_ACCURACY_LCB_RELEASE_TAG";

const PREAMBLE: &str = "You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.\n\n";
const STARTER_INSTRUCTIONS: &str = "You will use the following starter code to write the solution to the problem and enclose your code within delimiters.\n";
const STDIN_INSTRUCTIONS: &str = "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n";
const STDIN_SCAFFOLD: &str = "```python\n# YOUR CODE HERE\n```\n\n";

/// The per-release files of the repo, in order (`test.jsonl` is release 1).
const FILES: [&str; 6] = [
    "test.jsonl",
    "test2.jsonl",
    "test3.jsonl",
    "test4.jsonl",
    "test5.jsonl",
    "test6.jsonl",
];

/// The JSON Lines files the repo's loading script reads for a release tag (its
/// `ALLOWED_FILES`): `release_vN` is cumulative (files 1..=N), `release_latest` is every file,
/// `vN` is file N alone and `vA_vB` files A..=B. `None` for an unknown tag.
pub fn release_files(tag: &str) -> Option<Vec<&'static str>> {
    let range = |from: usize, to: usize| -> Option<Vec<&'static str>> {
        (1 <= from && from <= to && to <= FILES.len()).then(|| FILES[from - 1..to].to_vec())
    };
    let version = |s: &str| -> Option<usize> { s.strip_prefix('v')?.parse().ok() };
    if tag == "release_latest" {
        return range(1, FILES.len());
    }
    if let Some(rest) = tag.strip_prefix("release_") {
        return range(1, version(rest)?);
    }
    match tag.split_once('_') {
        Some((a, b)) => range(version(a)?, version(b)?),
        None => {
            let n = version(tag)?;
            range(n, n)
        }
    }
}

/// lighteval's `prepare_prompt(line)`.
pub fn prepare_prompt(row: &Row) -> String {
    let question = row.get("question_content").map(py_str).unwrap_or_default();
    let mut query = String::from(PREAMBLE);
    query.push_str(&format!("Question: {question}\n\n"));
    match row.get("starter_code").filter(|v| py_truthy(v)) {
        Some(starter) => {
            query.push_str(STARTER_INSTRUCTIONS);
            query.push_str(&format!("```python\n{}\n```\n\n", py_str(starter)));
        }
        None => {
            query.push_str(STDIN_INSTRUCTIONS);
            query.push_str(STDIN_SCAFFOLD);
        }
    }
    query
}

/// AIPerf's `_build_ground_truth`: `orjson.dumps` of the four upstream fields, in this order,
/// each the row's value verbatim (`""` when the column is absent).
pub fn ground_truth(row: &Row) -> String {
    let field = |name: &str| -> String {
        let value = row
            .get(name)
            .cloned()
            .unwrap_or(Value::String(String::new()));
        // Serialising a `Value` cannot fail (no non-string map keys, no non-finite floats).
        serde_json::to_string(&value).unwrap_or_else(|_| "\"\"".to_string())
    };
    format!(
        "{{\"starter_code\":{},\"public_test_cases\":{},\"private_test_cases\":{},\"metadata\":{}}}",
        field("starter_code"),
        field("public_test_cases"),
        field("private_test_cases"),
        field("metadata"),
    )
}

/// Python's `str(value)` for the JSON values a row can hold (an f-string's rendering).
fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        other => other.to_string(),
    }
}

/// Python truthiness (the walrus test on `starter_code`).
fn py_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The release tag in effect: the environment override, else AIPerf's default.
fn release_tag() -> String {
    std::env::var(RELEASE_TAG_ENV)
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| DEFAULT_RELEASE_TAG.to_string())
}

/// AIPerf's guards: LCB is zero-shot, unfiltered and has no CoT trigger.
fn check_request(req: &LoadRequest) -> Result<(), AccuracyError> {
    let refuse = |what: &str| Err(AccuracyError::Invalid(format!("{TASK_NAME}: {what}")));
    if req.tasks.is_some() {
        return refuse(
            "--accuracy-tasks is not supported; the lighteval reference evaluates the full LCB \
             test split (difficulty is reported per-row in metadata).",
        );
    }
    if req.n_shots != 0 {
        return refuse(
            "--accuracy-n-shots != 0 is not supported; the lighteval reference is zero-shot \
             (``few_shots_split=None``).",
        );
    }
    if req.enable_cot {
        return refuse(
            "--accuracy-enable-cot is not supported; lighteval's LCB prompt scaffold has no CoT \
             trigger — the model's natural response carries reasoning before the code block.",
        );
    }
    Ok(())
}

/// The source for a release tag.
fn source_for(tag: &str) -> Result<Source, AccuracyError> {
    let files = release_files(tag).ok_or_else(|| {
        AccuracyError::Invalid(format!(
            "{TASK_NAME}: failed to load {DATASET_NAME:?} subset {tag:?}. The pinned subset name \
             may have been renamed or removed upstream; set ``{RELEASE_TAG_ENV}`` to a current \
             subset such as ``v4_v5`` or ``v6``."
        ))
    })?;
    Ok(Source {
        data_files: Some(files.into_iter().map(str::to_string).collect()),
        ..Source::new(DATASET_NAME, Some(tag), "test")
    })
}

pub struct LcbCodegeneration;

impl Benchmark for LcbCodegeneration {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::LcbCodegeneration
    }

    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        check_request(req)?;
        Ok(vec![source_for(&release_tag())?])
    }

    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        check_request(req)?;
        Ok(rows.iter().flatten().map(problem_from_row).collect())
    }

    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let program = correct
            .then(|| {
                FIXTURE_PROBLEMS
                    .iter()
                    .find(|p| problem.prompt.contains(p.content))
                    .map(|p| p.solution.to_string())
                    .or_else(|| replay_program(&problem.ground_truth))
            })
            .flatten();
        match program {
            Some(code) => format!("Here is my solution.\n```python\n{code}\n```\n"),
            // Raising at import time fails every test in both styles (stdin and functional),
            // so this can never pass by accident.
            None => "I could not solve it.\n```python\nraise RuntimeError(\"oracle: wrong answer\")\n```\n"
                .to_string(),
        }
    }

    fn fixture(&self) -> Vec<Fixture> {
        let file = |name: &str| FixtureFile::Rows {
            path: name.to_string(),
            rows: FIXTURE_PROBLEMS
                .iter()
                .filter(|p| p.file == name)
                .map(FixtureProblem::row)
                .collect(),
        };
        vec![Fixture {
            repo: DATASET_NAME,
            files: vec![file("test4.jsonl"), file("test5.jsonl")],
        }]
    }
}

/// A program that passes any problem by replaying its expected outputs in test order (the
/// grader runs the tests in order and stops at the first failure), for problems without a
/// reference solution. `None` when the ground truth cannot be read.
fn replay_program(ground_truth: &str) -> Option<String> {
    let cases = parse_ground_truth(&serde_json::from_str(ground_truth).ok()?).ok()?;
    let outputs = serde_json::to_string(&cases.outputs).ok()?;
    // A JSON string literal of the outputs' JSON text is also a valid Python string literal.
    let literal = serde_json::to_string(&outputs).ok()?;
    match &cases.fn_name {
        Value::Null => Some(format!(
            "import json\nimport sys\ni = getattr(sys, '_oracle_case', 0)\n\
             sys._oracle_case = i + 1\nsys.stdout.write(json.loads({literal})[i])"
        )),
        Value::String(name) if is_identifier(name) => Some(format!(
            "import json\n\nclass Solution:\n    _case = 0\n\n    def {name}(self, *args):\n        \
             i = Solution._case\n        Solution._case = i + 1\n        \
             return json.loads(json.loads({literal})[i])"
        )),
        _ => None,
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn problem_from_row(row: &Row) -> Problem {
    let prompt = prepare_prompt(row);
    Problem::user_message(prompt, ground_truth(row), TASK_NAME, GENERATION_SIZE)
}

/// A fixture problem in the Hub's row layout, plus a reference solution for the oracle.
struct FixtureProblem {
    file: &'static str,
    title: &'static str,
    id: &'static str,
    platform: &'static str,
    contest_id: &'static str,
    date: &'static str,
    difficulty: &'static str,
    content: &'static str,
    starter: &'static str,
    public: &'static str,
    /// base64(zlib(pickle(json string))) exactly as the Hub stores it (generated with
    /// CPython's `pickle.dumps` protocol 4 and `zlib.compress`).
    private: &'static str,
    metadata: &'static str,
    solution: &'static str,
}

impl FixtureProblem {
    fn row(&self) -> Row {
        let mut row = Row::new();
        let mut put = |k: &str, v: &str| {
            row.insert(k.to_string(), Value::String(v.to_string()));
        };
        put("question_title", self.title);
        put("question_content", self.content);
        put("platform", self.platform);
        put("question_id", self.id);
        put("contest_id", self.contest_id);
        put("contest_date", self.date);
        put("starter_code", self.starter);
        put("difficulty", self.difficulty);
        put("public_test_cases", self.public);
        put("private_test_cases", self.private);
        put("metadata", self.metadata);
        row
    }
}

const FIXTURE_PROBLEMS: [FixtureProblem; 4] = [
    FixtureProblem {
        file: "test4.jsonl",
        title: "Sum of Two Integers",
        id: "abc900_a",
        platform: "atcoder",
        contest_id: "abc900",
        date: "2024-03-02T00:00:00",
        difficulty: "easy",
        content: "You are given two integers A and B.\nPrint A+B.\n\nInput\n\nThe input is given from Standard Input in the following format:\nA B\n\nOutput\n\nPrint the answer.\n\nSample Input 1\n\n3 5\n\nSample Output 1\n\n8",
        starter: "",
        public: r#"[{"input": "3 5\n", "output": "8\n", "testtype": "stdin"}]"#,
        private: "eJxrYJlawwABPRXR1UqZeQWlJUpWCkqGBgYKuoYxeUo6Ckr5pSVQUUtLiEhJanFJSWVBKkisuCQlM0+pVkcBSbeBggG6VgOcOmOn6AEA4lUnLw==",
        metadata: "{}",
        solution: "a, b = map(int, input().split())\nprint(a + b)",
    },
    FixtureProblem {
        file: "test4.jsonl",
        title: "maximum-element",
        id: "9001",
        platform: "leetcode",
        contest_id: "weekly-contest-900",
        date: "2024-03-03T00:00:00",
        difficulty: "easy",
        content: "You are given a non-empty integer array nums.\nReturn the largest element of nums.\n \nExample 1:\n\nInput: nums = [1,5,3]\nOutput: 5\n\n \nConstraints:\n\n1 <= nums.length <= 100",
        starter: "class Solution:\n    def maxElement(self, nums: List[int]) -> int:\n        ",
        public: r#"[{"input": "[1, 5, 3]", "output": "5", "testtype": "functional"}]"#,
        private: "eJxrYJnawAABPTXR1UqZeQWlJUpWCkrRukY6CrrmsUo6Ckr5pSVQUV0jEL8ktbikpLIgFSSSVpqXXJKZn5eYo1Sro4BsgAmaXhN8WmOn6AEAmqMpRg==",
        metadata: r#"{"func_name": "maxElement"}"#,
        solution: "class Solution:\n    def maxElement(self, nums: List[int]) -> int:\n        return max(nums)",
    },
    FixtureProblem {
        file: "test5.jsonl",
        title: "Reciprocal",
        id: "abc901_b",
        platform: "atcoder",
        contest_id: "abc901",
        date: "2024-09-07T00:00:00",
        difficulty: "medium",
        content: "You are given a positive integer N.\nPrint 1/N. Your answer is considered correct if its absolute or relative error is at most 10^{-9}.\n\nInput\n\nN\n\nOutput\n\nPrint the answer.\n\nSample Input 1\n\n2\n\nSample Output 1\n\n0.5000000000",
        starter: "",
        public: r#"[{"input": "2\n", "output": "0.5000000000\n", "testtype": "stdin"}]"#,
        private: "eJxrYJnqzgABPc7R1UqZeQWlJUpWCkrGMXlKOgpK+aUlUAEDPWM4gMiVpBaXlFQWpIJki0tSMvOUamOn6AEAXYQWiA==",
        metadata: "{}",
        solution: "n = int(input())\nprint(f\"{1 / n:.10f}\")",
    },
    FixtureProblem {
        file: "test5.jsonl",
        title: "count-distinct-prefix",
        id: "9002",
        platform: "leetcode",
        contest_id: "biweekly-contest-901",
        date: "2024-09-08T00:00:00",
        difficulty: "medium",
        content: "You are given a string s and an integer k.\nReturn the number of distinct characters among the first k characters of s.\n \nExample 1:\n\nInput: s = \"abca\", k = 3\nOutput: 3",
        starter: "class Solution:\n    def countDistinct(self, s: str, k: int) -> int:\n        ",
        public: r#"[{"input": "\"abca\"\n3", "output": "3", "testtype": "functional"}]"#,
        private: "eJxrYJnqxgABPU7R1UqZeQWlJUpWCkoxSlVVVTFKMXnGSjoKSvmlJVBxQxC3JLW4pKSyIBUkkFaal1ySmZ+XmKNUGztFDwCCYxgM",
        metadata: r#"{"func_name": "countDistinct"}"#,
        solution: "class Solution:\n    def countDistinct(self, s: str, k: int) -> int:\n        return len(set(s[:k]))",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graders::code_execution::CodeExecution;
    use crate::graders::Grader;
    use crate::ChatMessage;
    use serde_json::json;

    fn row(value: Value) -> Row {
        value.as_object().unwrap().clone()
    }

    fn fixture_rows() -> Vec<Vec<Row>> {
        let fixture = LcbCodegeneration.fixture();
        assert_eq!(fixture.len(), 1);
        assert_eq!(fixture[0].repo, "livecodebench/code_generation_lite");
        fixture[0]
            .files
            .iter()
            .map(|f| match f {
                FixtureFile::Rows { rows, .. } => rows.clone(),
                FixtureFile::Text { .. } => panic!("no text files expected"),
            })
            .collect()
    }

    #[test]
    fn stdin_prompt_is_lighteval_byte_for_byte() {
        let r = row(json!({"question_content": "Print 1.", "starter_code": ""}));
        assert_eq!(
            prepare_prompt(&r),
            "You will be given a question (problem specification) and will generate a correct \
             Python program that matches the specification and passes all tests.\n\n\
             Question: Print 1.\n\n\
             Read the inputs from stdin solve the problem and write the answer to stdout (do not \
             directly test on the sample inputs). Enclose your code within delimiters as \
             follows. Ensure that when the python program runs, it reads the inputs, runs the \
             algorithm and writes output to STDOUT.\n\
             ```python\n# YOUR CODE HERE\n```\n\n"
        );
    }

    #[test]
    fn starter_code_prompt_is_lighteval_byte_for_byte() {
        let r = row(json!({
            "question_content": "Add.",
            "starter_code": "class Solution:\n    def add(self, a: int) -> int:\n        ",
        }));
        assert_eq!(
            prepare_prompt(&r),
            "You will be given a question (problem specification) and will generate a correct \
             Python program that matches the specification and passes all tests.\n\n\
             Question: Add.\n\n\
             You will use the following starter code to write the solution to the problem and \
             enclose your code within delimiters.\n\
             ```python\nclass Solution:\n    def add(self, a: int) -> int:\n        \n```\n\n"
        );
    }

    #[test]
    fn missing_or_null_fields_render_as_python_does() {
        // `row.get("question_content", "")` and an f-string of None.
        let missing = prepare_prompt(&Row::new());
        assert!(
            missing.contains("\n\nQuestion: \n\nRead the inputs"),
            "{missing}"
        );
        let null = prepare_prompt(&row(
            json!({"question_content": null, "starter_code": null}),
        ));
        assert!(null.contains("Question: None\n\nRead the inputs"), "{null}");
    }

    #[test]
    fn ground_truth_is_aiperfs_orjson_blob() {
        let r = row(json!({
            "question_title": "t",
            "starter_code": "",
            "public_test_cases": "[{\"input\": \"1\\n\", \"output\": \"é\\n\"}]",
            "private_test_cases": "eJxr",
            "metadata": "{}",
        }));
        assert_eq!(
            ground_truth(&r),
            r#"{"starter_code":"","public_test_cases":"[{\"input\": \"1\\n\", \"output\": \"é\\n\"}]","private_test_cases":"eJxr","metadata":"{}"}"#
        );
        assert_eq!(
            ground_truth(&Row::new()),
            r#"{"starter_code":"","public_test_cases":"","private_test_cases":"","metadata":""}"#
        );
    }

    #[test]
    fn release_tags_map_to_the_loading_scripts_files() {
        assert_eq!(
            release_files("v4_v5").unwrap(),
            ["test4.jsonl", "test5.jsonl"]
        );
        assert_eq!(release_files("v1").unwrap(), ["test.jsonl"]);
        assert_eq!(release_files("v6").unwrap(), ["test6.jsonl"]);
        assert_eq!(
            release_files("release_v2").unwrap(),
            ["test.jsonl", "test2.jsonl"]
        );
        assert_eq!(release_files("release_latest").unwrap().len(), 6);
        assert_eq!(
            release_files("v2_v4").unwrap(),
            ["test2.jsonl", "test3.jsonl", "test4.jsonl"]
        );
        assert!(release_files("v7").is_none());
        assert!(release_files("v5_v4").is_none());
        assert!(release_files("latest").is_none());
    }

    #[test]
    fn sources_name_the_release_files_and_refuse_unsupported_options() {
        let req = LoadRequest::default();
        let sources = LcbCodegeneration.sources(&req).unwrap();
        let tag = release_tag();
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].repo, "livecodebench/code_generation_lite");
        assert_eq!(sources[0].split, "test");
        assert_eq!(sources[0].config.as_deref(), Some(tag.as_str()));
        if tag == DEFAULT_RELEASE_TAG {
            assert_eq!(
                sources[0].data_files.as_deref().unwrap(),
                ["test4.jsonl", "test5.jsonl"]
            );
        }
        let refused = |req: LoadRequest| LcbCodegeneration.sources(&req).unwrap_err().to_string();
        let tasks = refused(LoadRequest {
            tasks: Some(vec![TASK_NAME.into()]),
            ..LoadRequest::default()
        });
        assert!(tasks.starts_with("lcb_codegeneration: --accuracy-tasks is not supported"));
        let shots = refused(LoadRequest {
            n_shots: 1,
            ..LoadRequest::default()
        });
        assert!(shots.starts_with("lcb_codegeneration: --accuracy-n-shots != 0"));
        let cot = refused(LoadRequest {
            enable_cot: true,
            ..LoadRequest::default()
        });
        assert!(cot.starts_with("lcb_codegeneration: --accuracy-enable-cot is not supported"));
        let unknown = source_for("v9").unwrap_err().to_string();
        assert!(unknown.contains("subset \"v9\""), "{unknown}");
    }

    #[test]
    fn build_turns_fixture_rows_into_problems() {
        let rows = fixture_rows();
        assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
        let problems = LcbCodegeneration
            .build(&LoadRequest::default(), &rows)
            .unwrap();
        assert_eq!(problems.len(), 4);
        for p in &problems {
            assert_eq!(p.task, "lcb_codegeneration");
            assert_eq!(p.generation_size, Some(32768));
            assert_eq!(p.stop, None);
            assert_eq!(p.messages, Some(vec![ChatMessage::user(p.prompt.clone())]));
        }
        assert!(problems[0]
            .prompt
            .contains("Question: You are given two integers A and B."));
        assert!(problems[0]
            .prompt
            .ends_with("```python\n# YOUR CODE HERE\n```\n\n"));
        assert!(problems[1].prompt.ends_with(
            "```python\nclass Solution:\n    def maxElement(self, nums: List[int]) -> int:\n        \n```\n\n"
        ));
        // The blobs decode to public + private cases, with func_name for LeetCode rows.
        let cases: Vec<_> = problems
            .iter()
            .map(|p| parse_ground_truth(&serde_json::from_str(&p.ground_truth).unwrap()).unwrap())
            .collect();
        assert_eq!(
            cases[0].inputs,
            [json!("3 5\n"), json!("100 -1\n"), json!("0 0\n")]
        );
        assert_eq!(
            cases[0].outputs,
            [json!("8\n"), json!("99\n"), json!("0\n")]
        );
        assert_eq!(cases[0].fn_name, Value::Null);
        assert_eq!(
            cases[1].inputs,
            [json!("[1, 5, 3]"), json!("[-2, -7]"), json!("[4]")]
        );
        assert_eq!(cases[1].fn_name, json!("maxElement"));
        assert_eq!(
            cases[2].outputs,
            [json!("0.5000000000\n"), json!("0.3333333333\n")]
        );
        assert_eq!(cases[3].inputs, [json!("\"abca\"\n3"), json!("\"zzz\"\n3")]);
        assert_eq!(cases[3].fn_name, json!("countDistinct"));
    }

    #[test]
    fn oracle_answers_grade_as_intended() {
        let problems = LcbCodegeneration
            .build(&LoadRequest::default(), &fixture_rows())
            .unwrap();
        let wrong = LcbCodegeneration.oracle_answer(&problems[0], false);
        assert!(wrong.contains("```python\nraise RuntimeError"), "{wrong}");
        if crate::graders::code_execution::extract_code(&wrong).is_empty() {
            panic!("the wrong oracle answer must hold a code block");
        }
        let python = std::process::Command::new("python3").arg("-V").output();
        if !python.is_ok_and(|o| o.status.success()) {
            println!("SKIPPED oracle_answers_grade_as_intended: python3 is not on PATH");
            return;
        }
        // One thread per grade: each is a Python start-up.
        let verdicts: Vec<(bool, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = problems
                .iter()
                .flat_map(|p| [(p, true), (p, false)])
                .map(|(p, correct)| {
                    s.spawn(move || {
                        let answer = LcbCodegeneration.oracle_answer(p, correct);
                        let grade = CodeExecution::default().grade(&answer, &p.ground_truth);
                        (correct, grade.correct)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(verdicts.len(), 8);
        for (wanted, got) in verdicts {
            assert_eq!(wanted, got);
        }
    }

    #[test]
    fn the_oracle_replays_outputs_for_problems_outside_the_fixture() {
        let stdin_row = row(json!({
            "question_content": "Echo twice.",
            "starter_code": "",
            "public_test_cases": "[{\"input\": \"a\\n\", \"output\": \"a a\\n\", \"testtype\": \"stdin\"}]",
            "private_test_cases": "[{\"input\": \"é\\n\", \"output\": \"é é\\n\", \"testtype\": \"stdin\"}]",
            "metadata": "{}",
        }));
        let fn_row = row(json!({
            "question_content": "Halve.",
            "starter_code": "class Solution:\n    def half(self, xs):\n        ",
            "public_test_cases": "[{\"input\": \"[2, 4]\", \"output\": \"[1, 2]\", \"testtype\": \"functional\"}, {\"input\": \"[]\", \"output\": \"[]\", \"testtype\": \"functional\"}]",
            "private_test_cases": "",
            "metadata": "{\"func_name\": \"half\"}",
        }));
        let problems = LcbCodegeneration
            .build(&LoadRequest::default(), &[vec![stdin_row, fn_row]])
            .unwrap();
        let answer = LcbCodegeneration.oracle_answer(&problems[1], true);
        assert!(answer.contains("    def half(self, *args):"), "{answer}");
        let python = std::process::Command::new("python3").arg("-V").output();
        if !python.is_ok_and(|o| o.status.success()) {
            println!("SKIPPED the_oracle_replays_outputs...: python3 is not on PATH");
            return;
        }
        for p in &problems {
            let grade = CodeExecution::default()
                .grade(&LcbCodegeneration.oracle_answer(p, true), &p.ground_truth);
            assert!(grade.correct, "{grade:?}");
        }
    }
}
