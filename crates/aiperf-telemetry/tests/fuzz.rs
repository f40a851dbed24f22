//! Robustness: `parse` never panics (arbitrary strings, mutated real pages), generated
//! pages round-trip exactly, and a 5 MB page of 50k samples parses.

use aiperf_telemetry::{parse, MetricType};
use proptest::prelude::*;

const FIXTURES: [&str; 7] = [
    include_str!("fixtures/vllm.txt"),
    include_str!("fixtures/sglang.txt"),
    include_str!("fixtures/trtllm.txt"),
    include_str!("fixtures/dynamo.txt"),
    include_str!("fixtures/triton.txt"),
    include_str!("fixtures/dcgm.txt"),
    include_str!("fixtures/openmetrics.txt"),
];

/// Fragments that steer mutations into the grammar's corners.
const SNIPPETS: [&str; 24] = [
    "{",
    "}",
    "\"",
    "\\",
    "=",
    ",",
    " ",
    "\t",
    "\n",
    "\r\n",
    "#",
    "# EOF\n",
    "# TYPE x histogram\n",
    "# HELP ",
    "# UNIT ",
    "le=\"",
    "_bucket",
    "_total",
    "_created",
    "+Inf",
    "NaN",
    "1e999",
    "é",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), prop::sample::select(SNIPPETS.to_vec()))
            .prop_map(|(a, s)| Edit::Insert(a, s.to_string())),
        (any::<usize>(), ".{0,8}").prop_map(|(a, s)| Edit::Insert(a, s)),
        (any::<usize>(), 0usize..200).prop_map(|(a, n)| Edit::Duplicate(a, n)),
    ]
}

/// Applies an edit at char positions (so the result stays valid UTF-8).
fn apply(text: &str, e: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |a: usize| {
        if chars.is_empty() {
            0
        } else {
            a % (chars.len() + 1)
        }
    };
    let mut out = chars.clone();
    match e {
        Edit::Delete(a, n) => {
            let s = at(*a);
            let end = (s + n).min(out.len());
            out.drain(s..end);
        }
        Edit::Insert(a, s) => {
            let p = at(*a);
            out.splice(p..p, s.chars());
        }
        Edit::Duplicate(a, n) => {
            let s = at(*a);
            let end = (s + n).min(chars.len());
            out.splice(end..end, chars[s..end].iter().copied());
        }
    }
    out.into_iter().collect()
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}"
}

fn label_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('}'),
            Just(','),
            Just(' '),
            Just('#'),
            any::<char>(),
        ],
        0..10,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn line_shaped_noise_never_panics(lines in prop::collection::vec(
        "[a-z_:{}=\",#\\\\ \\t0-9.eE+-]{0,40}", 0..20)) {
        let _ = parse(&lines.join("\n"));
    }

    #[test]
    fn mutated_real_pages_never_panic(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut text = FIXTURES[which].to_string();
        for e in &edits {
            text = apply(&text, e);
        }
        if let Err(e) = parse(&text) {
            let msg = e.to_string();
            prop_assert!(!msg.contains('\n'));
            prop_assert!(e.snippet.chars().count() <= 60);
            prop_assert!(e.line >= 1 && e.line <= text.split('\n').count());
        }
    }

    #[test]
    fn generated_gauge_pages_round_trip(
        series in prop::collection::vec(
            (name(), prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,8}", label_value()), 0..4),
             any::<f64>(), prop::option::of(any::<i64>())),
            1..12),
    ) {
        let mut text = String::new();
        let mut expect = Vec::new();
        for (i, (n, labels, value, ts)) in series.into_iter().enumerate() {
            let n = format!("{n}_{i}");
            let mut labels = labels;
            labels.sort_by(|a, b| a.0.cmp(&b.0));
            labels.dedup_by(|a, b| a.0 == b.0);
            let rendered: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            text.push_str(&format!("# TYPE {n} gauge\n{n}{{{}}} {value:?}", rendered.join(",")));
            if let Some(ts) = ts {
                text.push_str(&format!(" {ts}"));
            }
            text.push('\n');
            expect.push((n, labels, value, ts));
        }
        let page = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(page.families.len(), expect.len());
        for (f, (n, labels, value, ts)) in page.families.iter().zip(expect) {
            prop_assert_eq!(&f.name, &n);
            prop_assert_eq!(f.kind, MetricType::Gauge);
            let s = &f.samples[0];
            prop_assert_eq!(&s.labels, &labels);
            prop_assert!(s.value == value || (s.value.is_nan() && value.is_nan()));
            prop_assert_eq!(s.timestamp_ms, ts);
        }
    }
}

#[test]
fn five_megabyte_page_of_50k_samples_parses() {
    let mut text = String::with_capacity(6 << 20);
    let les = ["0.005", "0.01", "0.05", "0.1", "0.5", "1.0", "5.0", "+Inf"];
    let mut samples = 0;
    let mut series = 0;
    text.push_str("# HELP vllm:e2e_request_latency_seconds Histogram of e2e latency.\n");
    text.push_str("# TYPE vllm:e2e_request_latency_seconds histogram\n");
    while samples < 50_000 {
        let labels = format!(
            "model_name=\"meta-llama/Llama-3.1-70B-Instruct-with-a-long-name\",engine=\"{series}\",\
             Hostname=\"node-{}.cluster.example.internal\"",
            series % 64
        );
        for (i, le) in les.iter().enumerate() {
            text.push_str(&format!(
                "vllm:e2e_request_latency_seconds_bucket{{{labels},le=\"{le}\"}} {}\n",
                i * 10
            ));
        }
        text.push_str(&format!(
            "vllm:e2e_request_latency_seconds_sum{{{labels}}} 12.5\n"
        ));
        text.push_str(&format!(
            "vllm:e2e_request_latency_seconds_count{{{labels}}} 70\n"
        ));
        samples += les.len() + 2;
        series += 1;
    }
    assert!(text.len() >= 5_000_000, "page is {} bytes", text.len());
    let page = parse(&text).unwrap();
    assert_eq!(page.families.len(), 1);
    assert_eq!(page.families[0].samples.len(), samples);
    let hist = page.families[0].buckets();
    assert_eq!(hist.len(), series);
    assert_eq!(hist[series - 1].buckets.len(), les.len());
    assert_eq!(
        hist[series - 1].buckets[les.len() - 1],
        (f64::INFINITY, 70.0)
    );
}
