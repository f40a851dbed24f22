//! An oracle for end-to-end tests: for each problem, the reply a server that knows the answers
//! sends, right for exactly the first `floor(fraction * n)` problems of each task (in problem
//! order) and wrong for the rest, so a run's reported accuracy is known before it starts. The
//! mock server answers by these (`aiperf-mock-server --oracle-answers`).

use std::collections::BTreeMap;

use crate::{BenchmarkKind, Problem};

/// One problem's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleAnswer {
    /// What the server recognises the question by: the last message's content (the prompt
    /// when the benchmark sends no messages).
    pub key: String,
    pub reply: String,
    pub correct: bool,
}

/// The replies for `problems` (in order), and per task the number answered right.
pub fn answers(
    kind: BenchmarkKind,
    problems: &[Problem],
    fraction: f64,
) -> (Vec<OracleAnswer>, BTreeMap<String, (u64, u64)>) {
    let bench = kind.benchmark();
    let mut per_task: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for p in problems {
        per_task.entry(p.task.clone()).or_default().1 += 1;
    }
    let quota: BTreeMap<String, u64> = per_task
        .iter()
        .map(|(t, (_, n))| {
            (
                t.clone(),
                (fraction.clamp(0.0, 1.0) * *n as f64).floor() as u64,
            )
        })
        .collect();
    let out = problems
        .iter()
        .map(|p| {
            let entry = per_task.entry(p.task.clone()).or_default();
            let correct = entry.0 < quota.get(&p.task).copied().unwrap_or(0);
            entry.0 += u64::from(correct);
            OracleAnswer {
                key: key(p),
                reply: bench.oracle_answer(p, correct),
                correct,
            }
        })
        .collect();
    (out, per_task)
}

fn key(p: &Problem) -> String {
    p.messages
        .as_ref()
        .and_then(|m| m.last())
        .map_or_else(|| p.prompt.clone(), |m| m.content.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(task: &str, n: u32) -> Problem {
        Problem {
            prompt: format!("Question: {n}+1?\nAnswer:"),
            ground_truth: format!("#### {}", n + 1),
            task: task.into(),
            ..Default::default()
        }
    }

    #[test]
    fn each_task_gets_the_floor_of_its_share_right_in_order() {
        let problems = [
            problem("a", 1),
            problem("b", 2),
            problem("a", 3),
            problem("a", 4),
            problem("b", 5),
        ];
        let (answers, per_task) = answers(BenchmarkKind::Gsm8k, &problems, 0.5);
        let correct: Vec<bool> = answers.iter().map(|a| a.correct).collect();
        // a: 3 problems -> 1 right (the first); b: 2 -> 1 right (the first).
        assert_eq!(correct, [true, true, false, false, false]);
        assert_eq!(per_task["a"], (1, 3));
        assert_eq!(per_task["b"], (1, 2));
        assert_eq!(answers[0].key, "Question: 1+1?\nAnswer:");
        let graded = crate::GraderKind::LightevalGsm8k.grader();
        for (a, p) in answers.iter().zip(&problems) {
            assert_eq!(
                graded.grade(&a.reply, &p.ground_truth).correct,
                a.correct,
                "{a:?}"
            );
        }
        let (all, _) = self::answers(BenchmarkKind::Gsm8k, &problems, 1.0);
        assert!(all.iter().all(|a| a.correct));
    }
}
