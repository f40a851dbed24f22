//! Grammar and grouping rules, one small page each, and the error messages.

use aiperf_telemetry::{parse, MetricType, ParseError};

fn err(text: &str) -> ParseError {
    parse(text).expect_err("page must be rejected")
}

#[test]
fn values_in_every_form() {
    let p = parse(
        "a 1\nb -2.5\nc 1e3\nd 1.5E-3\ne +Inf\nf -Inf\ng Inf\nh NaN\ni -0\nj 123456789012345\n",
    )
    .unwrap();
    let v: Vec<f64> = p.families.iter().map(|f| f.samples[0].value).collect();
    assert_eq!(
        &v[..7],
        &[
            1.0,
            -2.5,
            1000.0,
            0.0015,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY
        ]
    );
    assert!(v[7].is_nan());
    assert_eq!(v[8], 0.0);
    assert_eq!(v[9], 123_456_789_012_345.0);
    assert!(p.families.iter().all(|f| f.kind == MetricType::Untyped));
}

#[test]
fn prometheus_timestamps_are_integer_ms() {
    let p = parse("up 1 1700000000123\ndown 0 -5\n").unwrap();
    assert_eq!(
        p.families[0].samples[0].timestamp_ms,
        Some(1_700_000_000_123)
    );
    assert_eq!(p.families[1].samples[0].timestamp_ms, Some(-5));
    assert_eq!(
        err("up 1 1700000000.5\n").to_string(),
        "line 1: invalid timestamp `1700000000.5` (integer ms expected): \"up 1 1700000000.5\""
    );
}

#[test]
fn openmetrics_timestamps_are_float_seconds() {
    let p = parse("up 1 1700000000\nx 2 1.5e9\n# EOF\n").unwrap();
    assert_eq!(
        p.families[0].samples[0].timestamp_ms,
        Some(1_700_000_000_000)
    );
    assert_eq!(
        p.families[1].samples[0].timestamp_ms,
        Some(1_500_000_000_000)
    );
    assert!(parse("up 1 NaN\n# EOF\n").is_err());
    assert!(parse("up 1 1e300\n# EOF\n").is_err());
}

#[test]
fn whitespace_trailing_comma_empty_labels_and_crlf() {
    let p = parse("  foo \t{ a = \"b\" ,\tc=\"d\", }   1.5   \r\nbar{} 2\r\nbaz{a=\"x\"}3\n\n\t\n")
        .unwrap();
    let foo = &p.families[0].samples[0];
    assert_eq!(foo.name, "foo");
    assert_eq!(
        foo.labels,
        vec![("a".into(), "b".into()), ("c".into(), "d".into())]
    );
    assert_eq!(foo.value, 1.5);
    assert!(p.families[1].samples[0].labels.is_empty());
    assert_eq!(p.families[2].samples[0].value, 3.0);
}

#[test]
fn label_value_escapes() {
    let p = parse(r#"m{a="q\"uote",b="back\\slash",c="new\nline",d="keep\tthis"} 1"#).unwrap();
    let s = &p.families[0].samples[0];
    assert_eq!(s.label("a"), Some("q\"uote"));
    assert_eq!(s.label("b"), Some("back\\slash"));
    assert_eq!(s.label("c"), Some("new\nline"));
    assert_eq!(s.label("d"), Some("keep\\tthis"));
}

#[test]
fn comments_and_help_without_type() {
    let p = parse(
        "# just a comment\n#HELP not_meta x\n# HELP x Some \\\\ help\\nmore\n# HELP x second ignored\nx 1\n",
    )
    .unwrap();
    assert_eq!(p.families.len(), 1);
    assert_eq!(p.families[0].kind, MetricType::Untyped);
    assert_eq!(p.families[0].help.as_deref(), Some("Some \\ help\nmore"));
}

#[test]
fn counter_declared_with_and_without_total() {
    let p = parse(
        "# TYPE a_total counter\na_total 1\na_created 5\n\
         # TYPE b counter\nb_total 2\nb_created 6\n\
         # TYPE c counter\nc 3\n",
    )
    .unwrap();
    let shape: Vec<(&str, usize)> = p
        .families
        .iter()
        .map(|f| (f.name.as_str(), f.samples.len()))
        .collect();
    assert_eq!(shape, vec![("a_total", 1), ("b", 1), ("c", 1)]);
    assert_eq!(p.families[1].samples[0].name, "b_total");
    assert!(p.families.iter().all(|f| f.kind == MetricType::Counter));
}

#[test]
fn samples_without_type_are_untyped_families_by_sample_name() {
    let p = parse("foo_bucket{le=\"1\"} 2\nfoo_sum 3\n# TYPE g gauge\ng_total 1\n").unwrap();
    let names: Vec<&str> = p.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["foo_bucket", "foo_sum", "g", "g_total"]);
    assert_eq!(p.families[3].kind, MetricType::Untyped);
    assert!(p.families[2].samples.is_empty());
}

#[test]
fn histogram_buckets_are_sorted_and_grouped_ignoring_label_order() {
    let p = parse(
        "# TYPE h histogram\n\
         h_bucket{le=\"+Inf\",x=\"1\",y=\"2\"} 10\n\
         h_bucket{x=\"1\",y=\"2\",le=\"0.5\"} 4\n\
         h_bucket{y=\"2\",le=\"1e-1\",x=\"1\"} 1\n\
         h_sum{y=\"2\",x=\"1\"} 3.5\n\
         h_count{x=\"1\",y=\"2\"} 10\n\
         h_bucket{x=\"9\",le=\"+Inf\"} 0\n",
    )
    .unwrap();
    let series = p.families[0].buckets();
    assert_eq!(series.len(), 2);
    assert_eq!(
        series[0].labels,
        vec![("x".into(), "1".into()), ("y".into(), "2".into())]
    );
    assert_eq!(
        series[0].buckets,
        vec![(0.1, 1.0), (0.5, 4.0), (f64::INFINITY, 10.0)]
    );
    assert_eq!((series[0].sum, series[0].count), (Some(3.5), Some(10.0)));
    assert_eq!(series[1].buckets, vec![(f64::INFINITY, 0.0)]);
    assert_eq!((series[1].sum, series[1].count), (None, None));
}

#[test]
fn eof_ends_the_page() {
    let p = parse("a 1\n# EOF\nb 2\n").unwrap();
    assert_eq!(p.families.len(), 1);
    assert!(parse("").unwrap().families.is_empty());
}

#[test]
fn type_without_samples_is_an_empty_family() {
    let p = parse("# HELP h help\n# TYPE h histogram\n").unwrap();
    assert_eq!(p.families[0].kind, MetricType::Histogram);
    assert!(p.families[0].samples.is_empty());
    assert!(p.families[0].buckets().is_empty());
}

#[test]
fn error_messages_name_line_and_quote() {
    assert_eq!(
        err("# TYPE a gauge\na 1\n# TYPE a counter\n").to_string(),
        "line 3: duplicate TYPE for `a`: \"# TYPE a counter\""
    );
    assert_eq!(
        err("# TYPE h histogram\nh_bucket{x=\"1\"} 1\n").to_string(),
        "line 2: histogram bucket without `le` label: \"h_bucket{x=\\\"1\\\"} 1\""
    );
    assert_eq!(err("a 1\n\nb{x=\"1} 2\n").line, 3);
    assert_eq!(
        err("a 1\n\nb{x=\"1} 2\n").reason,
        "unterminated label value"
    );
    assert_eq!(err("a abc\n").reason, "invalid value `abc`");
    assert_eq!(err("a\n").reason, "missing value");
    assert_eq!(err("1a 2\n").reason, "invalid metric name");
    assert_eq!(err("a{1=\"x\"} 2\n").reason, "invalid label name");
    assert_eq!(err("a{b=\"x\",b=\"y\"} 2\n").reason, "duplicate label `b`");
    assert_eq!(err("a 1 2 3\n").reason, "unexpected text after sample");
    assert_eq!(
        err("# TYPE a flurb\n").reason,
        "unknown metric type `flurb`"
    );
    assert_eq!(
        err("# TYPE 9a gauge\n").reason,
        "invalid metric name in # TYPE"
    );
    assert_eq!(
        err("a 1\n# TYPE a gauge\n").reason,
        "TYPE for `a` after its samples"
    );
    assert_eq!(
        err("# TYPE h histogram\nh 1\n").reason,
        "sample `h` does not fit its Histogram family"
    );
    assert_eq!(
        err("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n").reason,
        "invalid `le` value `x`"
    );
    assert_eq!(
        err("a 1 # {x=\"y\"} oops\n").reason,
        "invalid exemplar value"
    );
}

#[test]
fn error_quotes_at_most_60_chars_on_one_line() {
    let long = format!("bad{{{}\n", "x".repeat(500));
    let e = err(&long);
    assert_eq!(e.line, 1);
    assert_eq!(e.snippet.chars().count(), 60);
    let msg = e.to_string();
    assert!(!msg.contains('\n'));
    assert!(msg.len() < 120, "{msg}");
    // Multi-byte characters are cut on char boundaries.
    let e = err(&format!("m{{a=\"{}\n", "é".repeat(100)));
    assert_eq!(e.snippet.chars().count(), 60);
}

#[test]
fn huge_label_sets_are_checked_for_duplicates() {
    let many: Vec<String> = (0..5000).map(|i| format!("l{i}=\"v\"")).collect();
    let p = parse(&format!("m{{{}}} 1\n", many.join(","))).unwrap();
    assert_eq!(p.families[0].samples[0].labels.len(), 5000);
    assert_eq!(p.families[0].samples[0].label("l4999"), Some("v"));
    let e = parse(&format!("m{{{},l7=\"w\"}} 1\n", many.join(","))).unwrap_err();
    assert_eq!(e.reason, "duplicate label `l7`");
}
