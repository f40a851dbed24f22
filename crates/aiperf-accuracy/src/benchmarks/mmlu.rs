//! MMLU (`lighteval/mmlu`, one config per subject), as AIPerf's `benchmarks/mmlu.py` builds
//! it (itself a port of lighteval's `mmlu_prompt`): instruction, few-shots from the `dev`
//! split picked by lighteval's "balanced" sampler (`random.Random(0)`), gold `" A"`..`" D"`.

use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, ChatMessage, Problem, Row};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const REPO: &str = "lighteval/mmlu";
const TEST_SPLIT: &str = "test";
const SHOTS_SPLIT: &str = "dev";
/// `string.ascii_uppercase`: option keys and string gold answers index into it.
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// lighteval's gold representations (`CHOICES`).
const CHOICES: [&str; 4] = [" A", " B", " C", " D"];
const GENERATION_SIZE: u32 = 5;
const COT_GENERATION_SIZE: u32 = 4000;
const STOP: &str = "\n";

/// AIPerf's `MMLU_SUBJECTS`, in its order.
pub const SUBJECTS: [&str; 57] = [
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
];

/// MMLU: 57 subjects, 5-shot, graded by `multiple_choice`.
pub struct Mmlu;

impl Benchmark for Mmlu {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Mmlu
    }

    /// Per subject: its `test` split, then (when `n_shots > 0`) its `dev` split.
    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        let mut sources = Vec::new();
        for subject in resolve_subjects(req.tasks.as_deref())? {
            sources.push(Source::new(REPO, Some(subject), TEST_SPLIT));
            if req.n_shots > 0 {
                sources.push(Source::new(REPO, Some(subject), SHOTS_SPLIT));
            }
        }
        Ok(sources)
    }

    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        let sources = self.sources(req)?;
        check_source_count("mmlu", &sources, rows)?;
        let per_subject = if req.n_shots > 0 { 2 } else { 1 };
        let mut problems = Vec::new();
        for (i, chunk) in sources.chunks(per_subject).enumerate() {
            let subject = chunk[0].config.as_deref().unwrap_or_default();
            let tests = parse_rows(&chunk[0], &rows[i * per_subject])?;
            let shots = match chunk.get(1) {
                Some(src) => few_shots(&parse_rows(src, &rows[i * per_subject + 1])?, req.n_shots),
                None => Vec::new(),
            };
            problems.extend(
                tests
                    .iter()
                    .map(|row| problem(row, subject, &shots, req.enable_cot)),
            );
        }
        Ok(problems)
    }

    /// The gold letter alone (first line `A`), or the next letter round A..D.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = problem.ground_truth.trim();
        if correct {
            return format!(" {gold}");
        }
        let wrong = match gold {
            "A" => "B",
            "B" => "C",
            "C" => "D",
            _ => "A",
        };
        format!(" {wrong}")
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![fixture()]
    }
}

/// `--accuracy-tasks` to subjects: none or `all` is every subject, otherwise the named ones
/// in the order given.
fn resolve_subjects(tasks: Option<&[String]>) -> Result<Vec<&'static str>, AccuracyError> {
    let tasks = match tasks {
        Some(t) if !t.is_empty() && !t.iter().any(|t| t == "all") => t,
        _ => return Ok(SUBJECTS.to_vec()),
    };
    resolve_named("mmlu", tasks, &SUBJECTS)
}

/// Each of `tasks` as its entry in `available` (exact match), or `UnknownTasks` naming every
/// task not found.
pub(super) fn resolve_named(
    benchmark: &str,
    tasks: &[String],
    available: &[&'static str],
) -> Result<Vec<&'static str>, AccuracyError> {
    let unknown: Vec<&str> = tasks
        .iter()
        .map(String::as_str)
        .filter(|t| !available.contains(t))
        .collect();
    if !unknown.is_empty() {
        return Err(AccuracyError::UnknownTasks {
            benchmark: benchmark.to_string(),
            unknown: unknown.join(", "),
            available: available.join(", "),
        });
    }
    Ok(tasks
        .iter()
        .filter_map(|t| available.iter().copied().find(|a| a == t))
        .collect())
}

/// `rows` must hold one entry per source.
pub(super) fn check_source_count(
    benchmark: &str,
    sources: &[Source],
    rows: &[Vec<Row>],
) -> Result<(), AccuracyError> {
    if sources.len() == rows.len() {
        return Ok(());
    }
    Err(AccuracyError::Invalid(format!(
        "{benchmark}: expected rows for {} sources, got {}",
        sources.len(),
        rows.len()
    )))
}

/// A `BadRow` error for `source`'s row `row` (0-based).
pub(super) fn bad_row(source: &Source, row: usize, reason: impl Into<String>) -> AccuracyError {
    AccuracyError::BadRow {
        source_name: source.label(),
        row,
        reason: reason.into(),
    }
}

/// Column `col` of `row`, which must be present.
pub(super) fn column<'a>(
    source: &Source,
    i: usize,
    row: &'a Row,
    col: &str,
) -> Result<&'a Value, AccuracyError> {
    row.get(col)
        .ok_or_else(|| bad_row(source, i, format!("missing column `{col}`")))
}

/// String column `col` of `row`.
pub(super) fn str_column<'a>(
    source: &Source,
    i: usize,
    row: &'a Row,
    col: &str,
) -> Result<&'a str, AccuracyError> {
    column(source, i, row, col)?
        .as_str()
        .ok_or_else(|| bad_row(source, i, format!("column `{col}` is not a string")))
}

/// List-of-strings column `col` of `row`.
pub(super) fn str_list_column(
    source: &Source,
    i: usize,
    row: &Row,
    col: &str,
) -> Result<Vec<String>, AccuracyError> {
    let not_list = || {
        bad_row(
            source,
            i,
            format!("column `{col}` is not a list of strings"),
        )
    };
    column(source, i, row, col)?
        .as_array()
        .ok_or_else(not_list)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(not_list))
        .collect()
}

/// One MMLU row: question, choices and the gold index.
#[derive(Debug, Clone)]
struct MmluRow {
    question: String,
    choices: Vec<String>,
    /// Index into `CHOICES` (`answer`: an int, or a letter looked up in `A..Z`).
    gold: usize,
}

impl MmluRow {
    /// The choice text of the gold answer (the balanced sampler's label).
    fn gold_text(&self) -> Option<&str> {
        self.choices.get(self.gold).map(String::as_str)
    }
}

fn parse_rows(source: &Source, rows: &[Row]) -> Result<Vec<MmluRow>, AccuracyError> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| parse_row(source, i, row))
        .collect()
}

fn parse_row(source: &Source, i: usize, row: &Row) -> Result<MmluRow, AccuracyError> {
    let question = str_column(source, i, row, "question")?.to_string();
    let choices = str_list_column(source, i, row, "choices")?;
    let gold = match column(source, i, row, "answer")? {
        // `ascii_uppercase.index(answer)`: a substring search.
        Value::String(s) => UPPERCASE.find(s.as_str()),
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        _ => None,
    }
    .filter(|&g| g < CHOICES.len())
    .ok_or_else(|| bad_row(source, i, "column `answer` is not one of A-D or 0-3"))?;
    Ok(MmluRow {
        question,
        choices,
        gold,
    })
}

/// A few-shot example: its query (without the answer) and gold.
#[derive(Debug, Clone)]
struct Shot {
    question: String,
    choices: String,
    answer: &'static str,
}

impl Shot {
    fn formatted(&self) -> String {
        format!(
            "Question: {}{}\nAnswer:{}",
            self.question, self.choices, self.answer
        )
    }
}

/// `"\nA. first\nB. second..."` (keys `A..Z`, extra choices dropped).
fn choices_block(choices: &[String]) -> String {
    UPPERCASE
        .chars()
        .zip(choices)
        .map(|(key, choice)| format!("\n{key}. {choice}"))
        .collect()
}

fn few_shots(source: &[MmluRow], n_shots: u32) -> Vec<Shot> {
    balanced_sample_indices(source, n_shots as usize)
        .into_iter()
        .map(|i| {
            let row = &source[i];
            Shot {
                question: row.question.clone(),
                choices: choices_block(&row.choices),
                answer: CHOICES[row.gold],
            }
        })
        .collect()
}

/// lighteval's `FewShotSampler(sorting="balanced", variance_seed=0)` as AIPerf ports it:
/// group rows by gold choice text; labels sorted, then grouped by count (largest first) and
/// shuffled within a count; round-robin over labels drawing a random row of each.
fn balanced_sample_indices(source: &[MmluRow], n_shots: usize) -> Vec<usize> {
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, row) in source.iter().enumerate() {
        // A gold index past the row's choices is an IndexError in AIPerf; such rows are
        // simply never drawn here.
        if let Some(label) = row.gold_text() {
            by_label.entry(label).or_default().push(i);
        }
    }
    let mut by_count: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (label, indices) in &by_label {
        by_count.entry(indices.len()).or_default().push(label);
    }
    let mut rng = py_random::PyRandom::new(0);
    let mut labels: Vec<&str> = Vec::new();
    for group in by_count.values_mut().rev() {
        rng.shuffle(group);
        labels.extend(group.iter().copied());
    }
    let mut result = Vec::new();
    let mut remaining = source.len().min(n_shots + 1);
    let mut cursor = labels.iter().cycle();
    while remaining > 0 {
        let Some(label) = cursor.next() else { break };
        let Some(pool) = by_label.get_mut(label) else {
            break;
        };
        if pool.is_empty() {
            if by_label.values().all(Vec::is_empty) {
                break;
            }
            continue;
        }
        let idx = rng.randbelow(pool.len());
        result.push(pool.remove(idx));
        remaining -= 1;
    }
    result.truncate(n_shots);
    result
}

/// The instruction line AIPerf prefixes (with a trailing blank line).
fn instruction(subject: &str, enable_cot: bool) -> String {
    let mut text = format!(
        "The following are multiple choice questions (with answers) about {}.",
        subject.replace('_', " ")
    );
    if enable_cot {
        text.push_str(
            " Think step by step and then output the answer in the format of \
             \"The answer is (X)\" at the end.",
        );
    }
    text.push_str("\n\n");
    text
}

/// The query of the problem row (`Question: ...\nAnswer:`, with CoT's primer).
fn query(row: &MmluRow, enable_cot: bool) -> String {
    let primer = if enable_cot {
        "\nLet's think step by step."
    } else {
        ""
    };
    format!(
        "Question: {}{}{primer}\nAnswer:",
        row.question,
        choices_block(&row.choices)
    )
}

/// AIPerf's `_format_prompt`: instruction, few-shots joined by blank lines, query.
fn prompt(row: &MmluRow, subject: &str, shots: &[Shot], enable_cot: bool) -> String {
    let mut text = instruction(subject, enable_cot);
    let shots_text: Vec<String> = shots.iter().map(Shot::formatted).collect();
    if !shots_text.is_empty() {
        text.push_str(&shots_text.join("\n\n"));
        text.push_str("\n\n");
    }
    text.push_str(&query(row, enable_cot));
    text
}

/// AIPerf's `_build_chat_messages`: each few-shot a user/assistant pair, the instruction on
/// the first user turn.
fn messages(row: &MmluRow, subject: &str, shots: &[Shot], enable_cot: bool) -> Vec<ChatMessage> {
    let instruction = instruction(subject, enable_cot);
    let mut out = Vec::with_capacity(shots.len() * 2 + 1);
    for (i, shot) in shots.iter().enumerate() {
        let prefix = if i == 0 { instruction.as_str() } else { "" };
        out.push(ChatMessage::user(format!(
            "{prefix}Question: {}{}\nAnswer:",
            shot.question, shot.choices
        )));
        out.push(ChatMessage::assistant(shot.answer));
    }
    let prefix = if shots.is_empty() {
        instruction.as_str()
    } else {
        ""
    };
    out.push(ChatMessage::user(format!(
        "{prefix}{}",
        query(row, enable_cot)
    )));
    out
}

fn problem(row: &MmluRow, subject: &str, shots: &[Shot], enable_cot: bool) -> Problem {
    Problem {
        prompt: prompt(row, subject, shots, enable_cot),
        ground_truth: CHOICES[row.gold].to_string(),
        task: subject.to_string(),
        messages: Some(messages(row, subject, shots, enable_cot)),
        generation_size: Some(if enable_cot {
            COT_GENERATION_SIZE
        } else {
            GENERATION_SIZE
        }),
        stop: Some(if enable_cot {
            Vec::new()
        } else {
            vec![STOP.to_string()]
        }),
    }
}

/// CPython's `random.Random` (MT19937 seeded by `init_by_array`), the parts AIPerf uses.
mod py_random {
    const N: usize = 624;
    const M: usize = 397;

    pub struct PyRandom {
        state: [u32; N],
        index: usize,
    }

    impl PyRandom {
        /// `random.Random(seed)` for a seed below 2**32.
        pub fn new(seed: u32) -> Self {
            let mut rng = Self {
                state: [0; N],
                index: N,
            };
            rng.init_by_array(&[seed]);
            rng
        }

        fn init_genrand(&mut self, seed: u32) {
            self.state[0] = seed;
            for i in 1..N {
                let prev = self.state[i - 1];
                self.state[i] = 1_812_433_253u32
                    .wrapping_mul(prev ^ (prev >> 30))
                    .wrapping_add(i as u32);
            }
            self.index = N;
        }

        fn init_by_array(&mut self, key: &[u32]) {
            self.init_genrand(19_650_218);
            let mt = &mut self.state;
            let (mut i, mut j) = (1usize, 0usize);
            for _ in 0..N.max(key.len()) {
                let prev = mt[i - 1];
                mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                    .wrapping_add(key[j])
                    .wrapping_add(j as u32);
                i += 1;
                j += 1;
                if i >= N {
                    mt[0] = mt[N - 1];
                    i = 1;
                }
                if j >= key.len() {
                    j = 0;
                }
            }
            for _ in 0..N - 1 {
                let prev = mt[i - 1];
                mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                    .wrapping_sub(i as u32);
                i += 1;
                if i >= N {
                    mt[0] = mt[N - 1];
                    i = 1;
                }
            }
            mt[0] = 0x8000_0000;
        }

        fn twist(&mut self) {
            let mt = &mut self.state;
            for k in 0..N {
                let y = (mt[k] & 0x8000_0000) | (mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }

        /// `genrand_uint32`.
        pub fn next_u32(&mut self) -> u32 {
            if self.index >= N {
                self.twist();
            }
            let mut y = self.state[self.index];
            self.index += 1;
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c_5680;
            y ^= (y << 15) & 0xefc6_0000;
            y ^ (y >> 18)
        }

        /// `_randbelow_with_getrandbits(n)` for `0 < n < 2**32`.
        pub fn randbelow(&mut self, n: usize) -> usize {
            let n = n as u64;
            let bits = 64 - n.leading_zeros();
            loop {
                let r = u64::from(self.next_u32() >> (32 - bits));
                if r < n {
                    return r as usize;
                }
            }
        }

        /// `random.shuffle` (Fisher-Yates from the end).
        pub fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                let j = self.randbelow(i + 1);
                items.swap(i, j);
            }
        }
    }
}

fn mmlu_row(question: &str, choices: [&str; 4], answer: u64) -> Row {
    let mut row = Row::new();
    row.insert("question".into(), json!(question));
    row.insert("subject".into(), json!(""));
    row.insert("choices".into(), json!(choices));
    row.insert("answer".into(), json!(answer));
    row
}

/// Rows with their `subject` column set.
fn with_subject(subject: &str, rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .map(|mut r| {
            r.insert("subject".into(), json!(subject));
            r
        })
        .collect()
}

const FIXTURE_SUBJECTS: [&str; 2] = ["abstract_algebra", "anatomy"];

fn fixture_rows(subject: &str, split: &str) -> Vec<Row> {
    let rows = match (subject, split) {
        ("abstract_algebra", "test") => vec![
            mmlu_row("Find the order of the group Z_4.", ["1", "2", "3", "4"], 3),
            mmlu_row(
                "Is Z_2 a field?",
                ["Yes", "No", "Only mod 3", "Undefined"],
                0,
            ),
            mmlu_row("How many elements does S_3 have?", ["3", "6", "9", "2"], 1),
        ],
        ("abstract_algebra", "validation") => vec![mmlu_row(
            "The identity of (Z, +) is",
            ["0", "1", "-1", "2"],
            0,
        )],
        ("abstract_algebra", "dev") => vec![
            mmlu_row("What is 1 + 1 in Z_2?", ["0", "1", "2", "3"], 0),
            mmlu_row("The order of 2 in Z_5^* is", ["1", "2", "3", "4"], 3),
            mmlu_row("Z_6 is cyclic.", ["True", "False", "Unknown", "Both"], 0),
            mmlu_row(
                "The kernel of a homomorphism is a",
                ["set", "ring", "normal subgroup", "field"],
                2,
            ),
            mmlu_row("Order of the trivial group", ["0", "1", "2", "4"], 1),
        ],
        ("anatomy", "test") => vec![
            mmlu_row(
                "Which bone is in the thigh?",
                ["Femur", "Ulna", "Radius", "Tibia"],
                0,
            ),
            mmlu_row("How many chambers has the heart?", ["1", "2", "3", "4"], 3),
            mmlu_row("The patella is the", ["hip", "kneecap", "skull", "rib"], 1),
            mmlu_row(
                "Bile is made by the",
                ["stomach", "pancreas", "liver", "spleen"],
                2,
            ),
        ],
        ("anatomy", "validation") => vec![mmlu_row(
            "The largest organ is the",
            ["skin", "liver", "brain", "lung"],
            0,
        )],
        ("anatomy", "dev") => vec![
            mmlu_row("The humerus is in the", ["arm", "leg", "neck", "foot"], 0),
            mmlu_row(
                "Lungs are in the",
                ["abdomen", "thorax", "pelvis", "skull"],
                1,
            ),
            mmlu_row("Neurons carry", ["blood", "bile", "signals", "air"], 2),
            mmlu_row(
                "The aorta leaves the",
                ["left ventricle", "right atrium", "lung", "liver"],
                0,
            ),
            mmlu_row("Red cells carry", ["signals", "oxygen", "bile", "lymph"], 1),
        ],
        _ => Vec::new(),
    };
    with_subject(subject, rows)
}

/// `configs:` front matter of the repo's README, restricted to the fixture's subjects.
fn fixture_readme() -> String {
    let mut text = String::from("---\nconfigs:\n");
    for subject in FIXTURE_SUBJECTS {
        text.push_str(&format!("- config_name: {subject}\n  data_files:\n"));
        for split in ["test", "validation", "dev"] {
            text.push_str(&format!(
                "  - split: {split}\n    path: {subject}/{split}-*\n"
            ));
        }
    }
    text.push_str("---\n\n# MMLU (fixture)\n");
    text
}

fn fixture() -> Fixture {
    let mut files = vec![FixtureFile::readme(fixture_readme())];
    for subject in FIXTURE_SUBJECTS {
        for split in ["test", "validation", "dev"] {
            files.push(FixtureFile::rows(
                format!("{subject}/{split}-00000-of-00001.parquet"),
                fixture_rows(subject, split),
            ));
        }
    }
    Fixture { repo: REPO, files }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{build, paths, readme, req, rows_for};
    use super::*;

    const ANATOMY_HEAD: &str =
        "The following are multiple choice questions (with answers) about anatomy.\n\n";
    const COT_HEAD: &str = "The following are multiple choice questions (with answers) about \
         anatomy. Think step by step and then output the answer in the format of \"The answer \
         is (X)\" at the end.\n\n";
    const FEMUR: &str = "Question: Which bone is in the thigh?\nA. Femur\nB. Ulna\nC. Radius\n\
         D. Tibia\nAnswer:";

    #[test]
    fn python_random_matches_cpython() {
        let mut rng = py_random::PyRandom::new(0);
        let words: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(words, [3_626_764_237, 1_654_615_998, 3_255_389_356]);
        let mut rng = py_random::PyRandom::new(0);
        let mut items: Vec<u32> = (0..10).collect();
        rng.shuffle(&mut items);
        assert_eq!(items, [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
        assert_eq!(rng.randbelow(7), 2);
        assert_eq!(rng.randbelow(1), 0);
        assert_eq!(rng.randbelow(100), 64);
    }

    #[test]
    fn zero_shot_prompt_messages_and_metadata() {
        let problems = build(&Mmlu, &req(Some(&["anatomy"]), 0, false));
        assert_eq!(problems.len(), 4);
        let p = &problems[0];
        assert_eq!(p.prompt, format!("{ANATOMY_HEAD}{FEMUR}"));
        assert_eq!(
            p.messages,
            Some(vec![ChatMessage::user(format!("{ANATOMY_HEAD}{FEMUR}"))])
        );
        assert_eq!(p.ground_truth, " A");
        assert_eq!(p.task, "anatomy");
        assert_eq!(p.generation_size, Some(5));
        assert_eq!(p.stop, Some(vec!["\n".to_string()]));
    }

    #[test]
    fn five_shot_prompt_uses_balanced_sampler_order() {
        let problems = build(&Mmlu, &req(Some(&["anatomy"]), 5, false));
        let expected = format!(
            "{ANATOMY_HEAD}\
             Question: Red cells carry\nA. signals\nB. oxygen\nC. bile\nD. lymph\nAnswer: B\n\n\
             Question: The aorta leaves the\nA. left ventricle\nB. right atrium\nC. lung\n\
             D. liver\nAnswer: A\n\n\
             Question: The humerus is in the\nA. arm\nB. leg\nC. neck\nD. foot\nAnswer: A\n\n\
             Question: Lungs are in the\nA. abdomen\nB. thorax\nC. pelvis\nD. skull\nAnswer: B\n\n\
             Question: Neurons carry\nA. blood\nB. bile\nC. signals\nD. air\nAnswer: C\n\n\
             {FEMUR}"
        );
        assert_eq!(problems[0].prompt, expected);
        let messages = problems[0].messages.clone().expect("messages");
        assert_eq!(messages.len(), 11);
        assert_eq!(
            messages[0],
            ChatMessage::user(format!(
                "{ANATOMY_HEAD}Question: Red cells carry\nA. signals\nB. oxygen\nC. bile\n\
                 D. lymph\nAnswer:"
            ))
        );
        assert_eq!(messages[1], ChatMessage::assistant(" B"));
        assert_eq!(
            messages[2],
            ChatMessage::user(
                "Question: The aorta leaves the\nA. left ventricle\nB. right atrium\nC. lung\n\
                 D. liver\nAnswer:"
            )
        );
        assert_eq!(messages[9], ChatMessage::assistant(" C"));
        assert_eq!(messages[10], ChatMessage::user(FEMUR));
    }

    #[test]
    fn two_shot_prompt_takes_first_draws() {
        let problems = build(&Mmlu, &req(Some(&["abstract_algebra"]), 2, false));
        assert_eq!(
            problems[0].prompt,
            "The following are multiple choice questions (with answers) about abstract \
             algebra.\n\n\
             Question: The order of 2 in Z_5^* is\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: D\n\n\
             Question: Order of the trivial group\nA. 0\nB. 1\nC. 2\nD. 4\nAnswer: B\n\n\
             Question: Find the order of the group Z_4.\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:"
        );
    }

    #[test]
    fn chain_of_thought_changes_instruction_primer_and_budget() {
        let problems = build(&Mmlu, &req(Some(&["anatomy"]), 0, true));
        let query = "Question: Which bone is in the thigh?\nA. Femur\nB. Ulna\nC. Radius\n\
             D. Tibia\nLet's think step by step.\nAnswer:";
        assert_eq!(problems[0].prompt, format!("{COT_HEAD}{query}"));
        assert_eq!(problems[0].generation_size, Some(4000));
        assert_eq!(problems[0].stop, Some(Vec::new()));
        let shots = build(&Mmlu, &req(Some(&["anatomy"]), 1, true));
        let messages = shots[0].messages.clone().expect("messages");
        assert!(messages[0].content.starts_with(COT_HEAD));
        assert!(messages[0].content.ends_with("D. lymph\nAnswer:"));
        assert_eq!(messages[2], ChatMessage::user(query));
    }

    #[test]
    fn tasks_filter_order_and_ground_truths() {
        let problems = build(
            &Mmlu,
            &req(Some(&["anatomy", "abstract_algebra"]), 5, false),
        );
        let tasks: Vec<&str> = problems.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(
            tasks,
            ["anatomy"; 4]
                .iter()
                .chain(&["abstract_algebra"; 3])
                .copied()
                .collect::<Vec<_>>()
        );
        let golds: Vec<&str> = problems.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, [" A", " D", " B", " C", " D", " A", " B"]);
        let all = Mmlu
            .sources(&req(Some(&["all"]), 0, false))
            .expect("sources");
        assert_eq!(all.len(), 57);
        let none = Mmlu.sources(&req(None, 5, false)).expect("sources");
        assert_eq!(none.len(), 114);
        assert_eq!(none[0], Source::new(REPO, Some("abstract_algebra"), "test"));
        assert_eq!(none[1], Source::new(REPO, Some("abstract_algebra"), "dev"));
    }

    #[test]
    fn unknown_tasks_are_rejected() {
        let err = Mmlu
            .sources(&req(Some(&["anatomy", "astrology", "Anatomy"]), 5, false))
            .expect_err("unknown");
        match err {
            AccuracyError::UnknownTasks {
                benchmark,
                unknown,
                available,
            } => {
                assert_eq!(benchmark, "mmlu");
                assert_eq!(unknown, "astrology, Anatomy");
                assert!(available.starts_with("abstract_algebra, anatomy, astronomy"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn string_answers_and_bad_rows() {
        let source = Source::new(REPO, Some("anatomy"), "test");
        let mut row = mmlu_row("Q", ["a", "b", "c", "d"], 0);
        row.insert("answer".into(), json!("C"));
        assert_eq!(parse_row(&source, 0, &row).expect("row").gold, 2);
        row.insert("answer".into(), json!("E"));
        assert!(parse_row(&source, 0, &row).is_err());
        row.remove("choices");
        let err = parse_row(&source, 3, &row).expect_err("missing");
        assert_eq!(
            err,
            AccuracyError::BadRow {
                source_name: "lighteval/mmlu[anatomy]:test".into(),
                row: 3,
                reason: "missing column `choices`".into(),
            }
        );
        let r = req(Some(&["anatomy"]), 0, false);
        assert!(matches!(
            Mmlu.build(&r, &[]),
            Err(AccuracyError::Invalid(_))
        ));
    }

    #[test]
    fn oracle_answers_round_trip() {
        for p in build(&Mmlu, &req(Some(&["anatomy"]), 5, false)) {
            let right = Mmlu.oracle_answer(&p, true);
            let wrong = Mmlu.oracle_answer(&p, false);
            assert_eq!(right.trim(), p.ground_truth.trim());
            assert_ne!(wrong.trim(), p.ground_truth.trim());
            assert!(["A", "B", "C", "D"].contains(&wrong.trim()));
        }
    }

    #[test]
    fn fixture_has_real_layout() {
        assert_eq!(
            paths(&Mmlu)[..4],
            [
                "README.md",
                "abstract_algebra/test-00000-of-00001.parquet",
                "abstract_algebra/validation-00000-of-00001.parquet",
                "abstract_algebra/dev-00000-of-00001.parquet",
            ]
        );
        let text = readme(&Mmlu);
        assert!(text.starts_with("---\nconfigs:\n- config_name: abstract_algebra\n"));
        assert!(text.contains("  - split: dev\n    path: anatomy/dev-*\n"));
        let dev = rows_for(&Mmlu, &Source::new(REPO, Some("anatomy"), "dev"));
        assert_eq!(dev.len(), 5);
        assert_eq!(dev[0]["answer"], json!(0));
        assert!(dev[0]["choices"].is_array());
    }
}
