//! Grades folded into AIPerf's accuracy summary: overall and per-task pass and unparsed counts
//! (`AccuracyAccumulator._build_summary`), and the `accuracy.*` tags it exports them under.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Pass and unparsed counts of one task, or of the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub passed: u64,
    pub unparsed: u64,
}

impl Counts {
    fn add(&mut self, passed: bool, unparsed: bool) {
        self.total += 1;
        self.passed += u64::from(passed);
        self.unparsed += u64::from(unparsed);
    }

    /// passed / total, 0 when nothing was graded.
    pub fn accuracy(&self) -> f64 {
        ratio(self.passed, self.total)
    }

    /// unparsed / total, 0 when nothing was graded.
    pub fn unparsed_rate(&self) -> f64 {
        ratio(self.unparsed, self.total)
    }
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// The accuracy of a run's profiling records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracySummary {
    pub overall: Counts,
    /// Tasks sorted by name. A record without a task counts only in `overall`.
    pub per_task: BTreeMap<String, Counts>,
    /// The grader that scored the records.
    pub grader: String,
}

/// One `accuracy.*` entry (AIPerf's `AccuracySummary.to_metric_results`): `sum` of `count`
/// records, `current` their ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyMetric {
    pub tag: String,
    pub header: String,
    pub count: u64,
    pub sum: u64,
    pub current: f64,
}

impl AccuracySummary {
    pub fn new(grader: &str) -> Self {
        Self {
            grader: grader.to_string(),
            ..Default::default()
        }
    }

    /// Counts one graded record.
    pub fn add(&mut self, task: Option<&str>, passed: bool, unparsed: bool) {
        self.overall.add(passed, unparsed);
        if let Some(t) = task {
            self.per_task
                .entry(t.to_string())
                .or_default()
                .add(passed, unparsed);
        }
    }

    /// Adds another summary's counts (shards of one run; exact, never averaged).
    pub fn merge(&mut self, other: &AccuracySummary) {
        let sum = |a: &mut Counts, b: &Counts| {
            a.total += b.total;
            a.passed += b.passed;
            a.unparsed += b.unparsed;
        };
        sum(&mut self.overall, &other.overall);
        for (task, c) in &other.per_task {
            sum(self.per_task.entry(task.clone()).or_default(), c);
        }
        if self.grader.is_empty() {
            self.grader = other.grader.clone();
        }
    }

    /// Whether every graded answer was unparsed (almost always the server, not the model).
    pub fn all_unparsed(&self) -> bool {
        self.overall.total > 0 && self.overall.unparsed >= self.overall.total
    }

    /// AIPerf's entries in its order: overall, tasks sorted, unparsed overall, unparsed tasks
    /// sorted. Nothing when nothing was graded.
    pub fn metrics(&self) -> Vec<AccuracyMetric> {
        if self.overall.total == 0 {
            return Vec::new();
        }
        let entry = |tag: String, header: String, c: &Counts, unparsed: bool| AccuracyMetric {
            tag,
            header,
            count: c.total,
            sum: if unparsed { c.unparsed } else { c.passed },
            current: if unparsed {
                c.unparsed_rate()
            } else {
                c.accuracy()
            },
        };
        let mut out = vec![entry(
            "accuracy.overall".into(),
            "Accuracy (Overall)".into(),
            &self.overall,
            false,
        )];
        for (task, c) in &self.per_task {
            out.push(entry(
                format!("accuracy.task.{task}"),
                format!("Accuracy ({task})"),
                c,
                false,
            ));
        }
        out.push(entry(
            "accuracy.unparsed".into(),
            "Accuracy Unparsed (Overall)".into(),
            &self.overall,
            true,
        ));
        for (task, c) in &self.per_task {
            out.push(entry(
                format!("accuracy.unparsed.task.{task}"),
                format!("Accuracy Unparsed ({task})"),
                c,
                true,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> AccuracySummary {
        let mut s = AccuracySummary::new("multiple_choice");
        // anatomy: 2 of 3 right, 1 unparsed (and wrong); astronomy: 1 of 1; one untasked wrong.
        s.add(Some("anatomy"), true, false);
        s.add(Some("anatomy"), false, true);
        s.add(Some("anatomy"), true, true);
        s.add(Some("astronomy"), true, false);
        s.add(None, false, false);
        s
    }

    #[test]
    fn overall_counts_every_record_and_tasks_only_their_own() {
        let s = summary();
        assert_eq!(
            s.overall,
            Counts {
                total: 5,
                passed: 3,
                unparsed: 2
            }
        );
        assert_eq!(s.per_task["anatomy"].accuracy(), 2.0 / 3.0);
        assert_eq!(s.per_task["anatomy"].unparsed_rate(), 2.0 / 3.0);
        assert_eq!(s.per_task["astronomy"].accuracy(), 1.0);
        assert_eq!(s.per_task.len(), 2);
        assert!(!s.all_unparsed());
    }

    #[test]
    fn metrics_come_in_aiperf_order_with_sums_and_ratios() {
        let m = summary().metrics();
        let tags: Vec<&str> = m.iter().map(|e| e.tag.as_str()).collect();
        assert_eq!(
            tags,
            [
                "accuracy.overall",
                "accuracy.task.anatomy",
                "accuracy.task.astronomy",
                "accuracy.unparsed",
                "accuracy.unparsed.task.anatomy",
                "accuracy.unparsed.task.astronomy",
            ]
        );
        assert_eq!((m[0].count, m[0].sum, m[0].current), (5, 3, 0.6));
        assert_eq!(m[1].header, "Accuracy (anatomy)");
        assert_eq!((m[3].count, m[3].sum, m[3].current), (5, 2, 0.4));
        assert_eq!(m[5].header, "Accuracy Unparsed (astronomy)");
        assert_eq!((m[5].sum, m[5].current), (0, 0.0));
        assert!(AccuracySummary::new("x").metrics().is_empty());
    }

    #[test]
    fn merging_shards_adds_counts_exactly() {
        let mut a = summary();
        let mut b = AccuracySummary::new("multiple_choice");
        b.add(Some("astronomy"), false, true);
        b.add(Some("virology"), true, false);
        a.merge(&b);
        assert_eq!(
            (a.overall.total, a.overall.passed, a.overall.unparsed),
            (7, 4, 3)
        );
        assert_eq!(a.per_task["astronomy"].total, 2);
        assert_eq!(a.per_task["astronomy"].accuracy(), 0.5);
        assert_eq!(a.per_task["virology"].passed, 1);
    }

    #[test]
    fn all_unparsed_needs_at_least_one_record() {
        let mut s = AccuracySummary::new("gsm8k");
        assert!(!s.all_unparsed());
        s.add(Some("gsm8k"), false, true);
        assert!(s.all_unparsed());
    }
}
