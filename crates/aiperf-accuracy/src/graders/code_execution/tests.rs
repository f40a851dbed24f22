use super::*;
use serde_json::json;

/// Whether Python tests can run; prints why a test is skipped otherwise.
fn have_python(test: &str) -> bool {
    let found = find_python().is_some();
    if !found {
        println!("SKIPPED {test}: python3 is not on PATH");
    }
    found
}

/// Short limits so failing programs fail fast.
fn grader() -> CodeExecution {
    CodeExecution {
        per_test_timeout: Duration::from_secs(3),
        grace: Duration::from_secs(1),
        memory_limit_bytes: Some(1 << 30),
        ..CodeExecution::default()
    }
}

/// A ground-truth blob with stdin cases, public ones as the Hub's JSON string.
fn stdin_gt(cases: &[(&str, &str)]) -> String {
    let cases: Vec<Value> = cases
        .iter()
        .map(|(i, o)| json!({"input": i, "output": o, "testtype": "stdin"}))
        .collect();
    json!({
        "starter_code": "",
        "public_test_cases": Value::Array(cases).to_string(),
        "private_test_cases": "",
        "metadata": "{}",
    })
    .to_string()
}

/// A ground-truth blob with functional cases calling `name`.
fn fn_gt(name: &str, cases: &[(&str, &str)]) -> String {
    let cases: Vec<Value> = cases
        .iter()
        .map(|(i, o)| json!({"input": i, "output": o, "testtype": "functional"}))
        .collect();
    json!({
        "starter_code": "class Solution:\n    def f(self):\n        ",
        "public_test_cases": Value::Array(cases).to_string(),
        "private_test_cases": "",
        "metadata": json!({"func_name": name}).to_string(),
    })
    .to_string()
}

fn answer(code: &str) -> String {
    format!("Here you go.\n```python\n{code}\n```\nDone.")
}

fn results_of(g: &CodeExecution, code: &str, gt: &str) -> Vec<Value> {
    let cases = parse_ground_truth(&serde_json::from_str(gt).unwrap()).unwrap();
    g.run(code, &cases).unwrap()
}

const DOUBLE: &[(&str, &str)] = &[("3\n", "6\n"), ("10\n", "20\n")];

// ---- extract_code ----

#[test]
fn extracts_a_single_python_block() {
    assert_eq!(
        extract_code("x\n```python\nprint(1)\nprint(2)\n```\ny"),
        "print(1)\nprint(2)"
    );
}

#[test]
fn extracts_the_last_of_several_blocks() {
    let text = "```python\nfirst()\n```\nthen\n```python\nsecond()\n```";
    assert_eq!(extract_code(text), "second()");
}

#[test]
fn extracts_a_fence_without_language() {
    assert_eq!(extract_code("```\na = 1\n```"), "a = 1");
}

#[test]
fn an_unclosed_or_missing_fence_extracts_nothing() {
    assert_eq!(extract_code("```python\nprint(1)\n"), "");
    assert_eq!(extract_code("print(1)"), "");
    assert_eq!(extract_code(""), "");
}

#[test]
fn an_odd_fence_count_takes_the_last_two_fence_lines() {
    // Lines 0, 2 and 4 hold fences: the code is between lines 2 and 4.
    assert_eq!(extract_code("```python\na\n```\nb\n```"), "b");
}

#[test]
fn fences_inside_prose_lines_count_as_fences() {
    assert_eq!(
        extract_code("Code: ```python\nx = 2\nend ``` here"),
        "x = 2"
    );
}

#[test]
fn an_empty_block_extracts_nothing_and_crlf_is_kept() {
    assert_eq!(extract_code("```python\n```"), "");
    assert_eq!(extract_code("```python\r\nx = 1\r\n```\r\n"), "x = 1\r");
}

#[test]
fn extract_is_the_grader_extract() {
    assert_eq!(CodeExecution::default().extract("```py\nz\n```"), "z");
    assert_eq!(CodeExecution::default().kind(), GraderKind::CodeExecution);
}

// ---- ground truth ----

#[test]
fn parses_public_then_encoded_private_cases_and_func_name() {
    let gt = json!({
        "starter_code": "",
        "public_test_cases": r#"[{"input": "2\n", "output": "0.5000000000\n", "testtype": "stdin"}]"#,
        "private_test_cases": "eJxrYJnqzgABPc7R1UqZeQWlJUpWCkrGMXlKOgpK+aUlUAEDPWM4gMiVpBaXlFQWpIJki0tSMvOUamOn6AEAXYQWiA==",
        "metadata": "{}",
    });
    let cases = parse_ground_truth(&gt).unwrap();
    assert_eq!(cases.inputs, vec![json!("2\n"), json!("3\n")]);
    assert_eq!(
        cases.outputs,
        vec![json!("0.5000000000\n"), json!("0.3333333333\n")]
    );
    assert_eq!(cases.fn_name, Value::Null);
}

#[test]
fn private_cases_fall_back_to_plain_json_or_a_list() {
    let gt = json!({
        "public_test_cases": [],
        "private_test_cases": r#"[{"input": "[1]", "output": "1"}]"#,
        "metadata": {"func_name": "g"},
    });
    let cases = parse_ground_truth(&gt).unwrap();
    assert_eq!(cases.inputs, vec![json!("[1]")]);
    assert_eq!(cases.fn_name, json!("g"));
    let gt = json!({"private_test_cases": [{"input": "a", "output": "b"}]});
    let cases = parse_ground_truth(&gt).unwrap();
    assert_eq!(
        (cases.inputs, cases.outputs),
        (vec![json!("a")], vec![json!("b")])
    );
    assert_eq!(cases.fn_name, Value::Null);
}

#[test]
fn a_ground_truth_that_is_not_json_fails_as_aiperf_does() {
    let g = CodeExecution::default().grade("  ```python\nx\n```  ", "not json");
    assert!(!g.correct && g.unparsed);
    assert_eq!(g.reasoning, "LCB grader failed: ground_truth not orjson");
    assert_eq!(g.extracted, "```python\nx\n```");
    assert_eq!(g.ground_truth, "<lcb test cases>");
}

#[test]
fn a_payload_without_test_cases_is_refused() {
    let gt = json!({"public_test_cases": "", "private_test_cases": "", "metadata": "{}"});
    let g = CodeExecution::default().grade("x", &gt.to_string());
    assert_eq!(
        g.reasoning,
        "LCB grader failed: malformed test cases: LCB payload has no test cases — both \
         public_test_cases and private_test_cases are missing or empty"
    );
    assert_eq!(g.confidence, 0.0);
}

#[test]
fn malformed_payloads_name_the_problem() {
    let g = CodeExecution::default().grade("x", "[1, 2]");
    assert_eq!(
        g.reasoning,
        "LCB grader failed: malformed test cases: expected dict payload, got list"
    );
    let gt = json!({"public_test_cases": [{"output": "1"}]}).to_string();
    let g = CodeExecution::default().grade("x", &gt);
    assert_eq!(
        g.reasoning,
        "LCB grader failed: malformed test cases: 'input'"
    );
    let gt = json!({"public_test_cases": 5}).to_string();
    let g = CodeExecution::default().grade("x", &gt);
    assert_eq!(
        g.reasoning,
        "LCB grader failed: malformed test cases: test cases must be a JSON string or list, got int"
    );
}

#[test]
fn a_failure_keeps_the_first_200_characters_of_the_response() {
    let long = "é".repeat(300);
    let g = CodeExecution::default().grade(&long, "{");
    assert_eq!(g.extracted, "é".repeat(200));
}

#[test]
fn a_missing_interpreter_is_a_clear_failure() {
    let g = CodeExecution {
        python: Some(PathBuf::from("/nonexistent/python3")),
        isolate_network: false,
        ..grader()
    };
    let grade = g.grade(&answer("print(1)"), &stdin_gt(&[("", "1")]));
    assert!(!grade.correct && grade.unparsed);
    assert!(
        grade.reasoning.starts_with(
            "LCB grader failed: sandboxed exec failed: cannot start /nonexistent/python3"
        ),
        "{}",
        grade.reasoning
    );
}

#[test]
fn an_absent_interpreter_is_not_found() {
    assert_eq!(probe_python("aiperf-no-such-python3"), None);
    if have_python("an_absent_interpreter_is_not_found") {
        let found = probe_python("python3").unwrap();
        assert!(found.is_absolute(), "{}", found.display());
    }
}

// ---- execution: stdin style ----

#[test]
fn a_correct_stdin_program_passes() {
    if !have_python("a_correct_stdin_program_passes") {
        return;
    }
    let code = "n = int(input())\nprint(n * 2)";
    let g = grader().grade(&answer(code), &stdin_gt(DOUBLE));
    assert!(g.correct, "{g:?}");
    assert!(!g.unparsed);
    assert_eq!(g.confidence, 1.0);
    assert_eq!(
        g.reasoning,
        "lighteval codegen_metrics pass@1=1.000 (snippet length=29)"
    );
    assert_eq!(g.extracted, code);
    assert_eq!(g.ground_truth, "<lcb test cases>");
}

#[test]
fn a_wrong_answer_stops_at_the_first_failing_test() {
    if !have_python("a_wrong_answer_stops_at_the_first_failing_test") {
        return;
    }
    let code = "n = int(input())\nprint(6 if n == 3 else 0)";
    assert_eq!(
        results_of(&grader(), code, &stdin_gt(DOUBLE)),
        vec![json!(true), json!(-2)]
    );
    let g = grader().grade(&answer(code), &stdin_gt(DOUBLE));
    assert!(!g.correct && !g.unparsed);
    assert_eq!(
        g.reasoning,
        "lighteval codegen_metrics pass@1=0.000 (snippet length=42)"
    );
}

#[test]
fn a_runtime_error_is_code_minus_4() {
    if !have_python("a_runtime_error_is_code_minus_4") {
        return;
    }
    assert_eq!(
        results_of(&grader(), "print(1 // 0)", &stdin_gt(DOUBLE)),
        vec![json!(-4)]
    );
}

#[test]
fn a_syntax_error_fails() {
    if !have_python("a_syntax_error_fails") {
        return;
    }
    let g = grader().grade(&answer("def broken(:\n    pass"), &stdin_gt(DOUBLE));
    assert!(!g.correct);
    assert_eq!(
        results_of(&grader(), "def broken(:", &stdin_gt(DOUBLE)),
        vec![json!(-4)]
    );
}

#[test]
fn an_infinite_loop_times_out_per_test() {
    if !have_python("an_infinite_loop_times_out_per_test") {
        return;
    }
    let g = CodeExecution {
        per_test_timeout: Duration::from_millis(300),
        ..grader()
    };
    let start = Instant::now();
    assert_eq!(
        results_of(&g, "while True:\n    pass", &stdin_gt(DOUBLE)),
        vec![json!(-3)]
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_program_that_swallows_the_alarm_is_killed_at_the_wall_clock_limit() {
    if !have_python("a_program_that_swallows_the_alarm_is_killed_at_the_wall_clock_limit") {
        return;
    }
    let g = CodeExecution {
        per_test_timeout: Duration::from_millis(200),
        grace: Duration::from_millis(200),
        ..grader()
    };
    let code = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass";
    let start = Instant::now();
    // One test: limit (0.2 + 1) * 1 + 0.2 = 1.4 s; every test counts as failed (-1).
    assert_eq!(
        results_of(&g, code, &stdin_gt(&[("1\n", "2\n")])),
        vec![json!(-1)]
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1300) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn aiperfs_grade_ceiling_turns_a_long_run_into_a_grading_failure() {
    if !have_python("aiperfs_grade_ceiling_turns_a_long_run_into_a_grading_failure") {
        return;
    }
    let g = CodeExecution {
        per_test_timeout: Duration::from_secs(5),
        max_grade_time: Duration::from_millis(800),
        ..grader()
    };
    let start = Instant::now();
    let grade = g.grade(&answer("while True:\n    pass"), &stdin_gt(DOUBLE));
    assert!(!grade.correct && grade.unparsed);
    assert_eq!(
        grade.reasoning,
        "LCB grader failed: sandboxed exec failed: grading worker timed out after 1 s"
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_wall_clock_limit_is_lightevals() {
    let g = CodeExecution::default();
    assert_eq!(g.wall_clock_limit(3), Duration::from_secs(7 * 3 + 5));
    assert_eq!(g.per_test_timeout, Duration::from_secs(6));
    assert_eq!(g.memory_limit_bytes, Some(4 << 30));
    assert_eq!(
        g.wall_clock_limit(usize::MAX),
        Duration::from_secs(7 * u64::from(u32::MAX) + 5)
    );
}

#[test]
fn infinite_output_fails_without_hanging() {
    if !have_python("infinite_output_fails_without_hanging") {
        return;
    }
    let g = CodeExecution {
        per_test_timeout: Duration::from_millis(500),
        memory_limit_bytes: Some(512 << 20),
        ..grader()
    };
    let start = Instant::now();
    let code = "import sys, os\nwhile True:\n    print('x' * 4096)\n    os.write(1, b'y' * 4096)";
    let results = results_of(&g, code, &stdin_gt(DOUBLE));
    assert!(
        results == vec![json!(-3)] || results == vec![json!(-4)],
        "{results:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_memory_bomb_hits_the_address_space_cap() {
    if !have_python("a_memory_bomb_hits_the_address_space_cap") {
        return;
    }
    let g = CodeExecution {
        memory_limit_bytes: Some(256 << 20),
        ..grader()
    };
    let code = "blocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))";
    assert_eq!(results_of(&g, code, &stdin_gt(DOUBLE)), vec![json!(-4)]);
    // The same allocation fits without the cap's pressure: one 64 MiB block is fine.
    let code = "b = bytearray(64 << 20)\nprint(int(input()) * 2)";
    assert_eq!(
        results_of(&g, code, &stdin_gt(DOUBLE)),
        vec![json!(true), json!(true)]
    );
}

#[test]
fn the_program_runs_in_a_fresh_empty_directory() {
    if !have_python("the_program_runs_in_a_fresh_empty_directory") {
        return;
    }
    // os.getcwd is disabled by the guard; HOME is the sandbox dir, and it is empty.
    let code = "import os\ninput()\nprint(len(os.listdir('.')), os.stat('.').st_ino == os.stat(os.environ['HOME']).st_ino)";
    let results = results_of(&grader(), code, &stdin_gt(&[("1\n", "0 True\n")]));
    assert_eq!(results, vec![json!(true)]);
}

#[test]
fn reading_a_world_readable_file_by_absolute_path_is_not_blocked() {
    if !have_python("reading_a_world_readable_file_by_absolute_path_is_not_blocked") {
        return;
    }
    // A documented limit: without root there is no filesystem jail. (lighteval's mock_open
    // patch does not apply either: `from io import *` rebinds `open` to the real one.)
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "the secret").unwrap();
    let code = format!(
        "input()\nprint(open({:?}).read())",
        secret.display().to_string()
    );
    let gt = stdin_gt(&[("7\n", "the secret\n")]);
    assert_eq!(results_of(&grader(), &code, &gt), vec![json!(true)]);
}

#[test]
fn the_environment_is_stripped() {
    if !have_python("the_environment_is_stripped") {
        return;
    }
    std::env::set_var("AIPERF_CODEGEN_TEST_SECRET", "leak");
    let code = "import os\nprint(os.environ.get('AIPERF_CODEGEN_TEST_SECRET', 'absent'))";
    assert_eq!(
        results_of(&grader(), code, &stdin_gt(&[("", "absent")])),
        vec![json!(true)]
    );
}

#[test]
fn the_network_is_unreachable_under_unshare() {
    if !have_python("the_network_is_unreachable_under_unshare") {
        return;
    }
    if unshare_flags().is_none() {
        println!("SKIPPED the_network_is_unreachable_under_unshare: unshare -rn is not available");
        return;
    }
    let code = "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    print('open')\nexcept OSError:\n    print('blocked')";
    assert_eq!(
        results_of(&grader(), code, &stdin_gt(&[("", "blocked")])),
        vec![json!(true)]
    );
}

#[test]
fn output_comparison_strips_lines_and_compares_decimals() {
    if !have_python("output_comparison_strips_lines_and_compares_decimals") {
        return;
    }
    let code = "input()\nprint('  0.5  1e2 ')\nprint('ok   ')\nprint()";
    let gt = stdin_gt(&[("x\n", "0.50 100\nok\n\n\n")]);
    assert_eq!(results_of(&grader(), code, &gt), vec![json!(true)]);
    // Decimal comparison is exact: 0.3333 is not 0.3333333333.
    let gt = stdin_gt(&[("x\n", "0.3333333333\n")]);
    assert_eq!(
        results_of(&grader(), "input()\nprint(0.3333)", &gt),
        vec![json!(-2)]
    );
    // A different line count is a wrong answer.
    let gt = stdin_gt(&[("x\n", "1\n2\n")]);
    assert_eq!(
        results_of(&grader(), "input()\nprint(1)", &gt),
        vec![json!(-2)]
    );
}

#[test]
fn empty_output_matches_only_an_empty_expected_output() {
    if !have_python("empty_output_matches_only_an_empty_expected_output") {
        return;
    }
    assert_eq!(
        results_of(&grader(), "x = 1", &stdin_gt(&[("", "")])),
        vec![json!(true)]
    );
    assert_eq!(
        results_of(&grader(), "x = 1", &stdin_gt(&[("", "5\n")])),
        vec![json!(-2)]
    );
}

#[test]
fn main_guards_sys_stdin_and_exit_work_as_in_lighteval() {
    if !have_python("main_guards_sys_stdin_and_exit_work_as_in_lighteval") {
        return;
    }
    let code = "import sys\ndef main():\n    data = sys.stdin.read().split()\n    print(sum(map(int, data)))\n    sys.exit(0)\n    print('never')\n\nif __name__ == '__main__':\n    main()";
    let gt = stdin_gt(&[("1 2\n3\n", "6\n"), ("5\n", "5\n")]);
    assert!(grader().grade(&answer(code), &gt).correct);
}

#[test]
fn no_code_block_is_unparsed_and_wrong() {
    if !have_python("no_code_block_is_unparsed_and_wrong") {
        return;
    }
    let g = grader().grade("The answer is print(6)", &stdin_gt(DOUBLE));
    assert!(!g.correct && g.unparsed);
    assert_eq!(g.extracted, "");
    assert_eq!(
        g.reasoning,
        "lighteval codegen_metrics pass@1=0.000 (snippet length=0) (no code block extracted)"
    );
}

// ---- execution: functional style ----

#[test]
fn a_correct_solution_class_passes_with_json_args() {
    if !have_python("a_correct_solution_class_passes_with_json_args") {
        return;
    }
    let code = "class Solution:\n    def pick(self, nums: List[int], k: int) -> List[int]:\n        return sorted(nums)[:k]";
    let gt = fn_gt("pick", &[("[3, 1, 2]\n2", "[1, 2]"), ("[5]\n1", "[5]")]);
    let g = grader().grade(&answer(code), &gt);
    assert!(g.correct, "{g:?}");
}

#[test]
fn a_wrong_functional_answer_is_false() {
    if !have_python("a_wrong_functional_answer_is_false") {
        return;
    }
    let code = "class Solution:\n    def pick(self, nums, k):\n        return nums[:k]";
    let gt = fn_gt("pick", &[("[3, 1, 2]\n2", "[1, 2]")]);
    assert_eq!(results_of(&grader(), code, &gt), vec![json!(false)]);
}

#[test]
fn a_tuple_result_counts_as_a_list() {
    if !have_python("a_tuple_result_counts_as_a_list") {
        return;
    }
    let code = "class Solution:\n    def pair(self, s):\n        return (s, len(s))";
    let gt = fn_gt("pair", &[("\"ab\"", "[\"ab\", 2]")]);
    assert_eq!(results_of(&grader(), code, &gt), vec![json!(true)]);
}

#[test]
fn a_missing_method_or_crashing_method_fails() {
    if !have_python("a_missing_method_or_crashing_method_fails") {
        return;
    }
    let gt = fn_gt("pick", &[("[1]\n1", "[1]")]);
    let other = "class Solution:\n    def other(self, a, b):\n        return a";
    assert_eq!(results_of(&grader(), other, &gt), vec![json!(-4)]);
    let crash = "class Solution:\n    def pick(self, a, b):\n        return a[10]";
    assert_eq!(results_of(&grader(), crash, &gt), vec![json!(-4)]);
}

#[test]
fn a_functional_timeout_is_code_minus_3() {
    if !have_python("a_functional_timeout_is_code_minus_3") {
        return;
    }
    let g = CodeExecution {
        per_test_timeout: Duration::from_millis(300),
        ..grader()
    };
    let code = "class Solution:\n    def pick(self, a, b):\n        while True:\n            pass";
    assert_eq!(
        results_of(&g, code, &fn_gt("pick", &[("[1]\n1", "[1]")])),
        vec![json!(-3)]
    );
}

#[test]
fn reading_a_relative_file_outside_the_sandbox_dir_fails() {
    if !have_python("reading_a_relative_file_outside_the_sandbox_dir_fails") {
        return;
    }
    // Functional tests get the real `open`; the cwd is a fresh dir, so the crate's own
    // files are not where a relative path points.
    let code = "class Solution:\n    def f(self, x):\n        return open('Cargo.toml').read()";
    assert_eq!(
        results_of(&grader(), code, &fn_gt("f", &[("1", "\"\"")])),
        vec![json!(-4)]
    );
}

#[test]
fn grandchildren_die_with_the_run() {
    if !have_python("grandchildren_die_with_the_run") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let escaped = dir.path().join("escaped");
    // Two background shells that would write a file after 1 s: one in the runner's process
    // group, one that left it with setsid.
    let code = format!(
        "import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'sleep 1; echo alive > {}'], {{}})\n\
         os.posix_spawn('/bin/sh', ['sh', '-c', 'setsid sh -c \"sleep 1; echo alive > {}\" &'], {{}})\n\
         print(1)",
        plain.display(),
        escaped.display()
    );
    assert_eq!(
        results_of(&grader(), &code, &stdin_gt(&[("", "1\n")])),
        vec![json!(true)]
    );
    std::thread::sleep(Duration::from_millis(1600));
    assert!(!plain.exists(), "a process of the run's group outlived it");
    if unshare_flags().is_some_and(|f| f.contains(&"--pid")) {
        assert!(
            !escaped.exists(),
            "a setsid process outlived the PID namespace"
        );
    } else {
        println!("grandchildren_die_with_the_run: no PID namespace, setsid escapes are possible");
    }
}

#[test]
fn concurrent_grades_do_not_interfere() {
    if !have_python("concurrent_grades_do_not_interfere") {
        return;
    }
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let code = if i % 2 == 0 {
                    "print(int(input()) * 2)"
                } else {
                    "print(0)"
                };
                grader().grade(&answer(code), &stdin_gt(DOUBLE)).correct
            })
        })
        .collect();
    let verdicts: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(verdicts, vec![true, false, true, false]);
}
