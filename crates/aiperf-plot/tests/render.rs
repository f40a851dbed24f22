//! The PNG/SVG renderer: outputs decode at the requested size, carry the chart's texts, draw
//! the expected elements, and survive hostile data. Assertions are about behaviour, not
//! pixels.

use std::io::Cursor;

use aiperf_plot::chart::{Axis, Chart, Mark, Role, Series};
use aiperf_plot::render::{png, svg, RenderError, Size, Theme, SVG_MAX_SCATTER_POINTS};

const SMALL: Size = Size {
    width: 800,
    height: 400,
};

/// Width, height and RGB(A) pixels of a PNG.
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>, usize) {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let (w, h) = (reader.info().width, reader.info().height);
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = frame.color_type.samples();
    buf.truncate(frame.buffer_size());
    (w, h, buf, channels)
}

/// The texts of every `<text>` element, trimmed.
fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

fn count(doc: &roxmltree::Document<'_>, tag: &str) -> usize {
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

/// Checks what every rendering must satisfy and returns the SVG for more checks.
fn check_both(chart: &Chart) -> String {
    let bytes = png(chart, Theme::Light, SMALL).expect("png");
    let (w, h, _, _) = decode(&bytes);
    assert_eq!((w, h), (SMALL.width, SMALL.height), "{}", chart.id);

    let text = svg(chart, Theme::Light, SMALL).expect("svg");
    let doc = roxmltree::Document::parse(&text).expect("SVG parses");
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"));
    assert_eq!(root.attribute("width"), Some("800"));
    assert_eq!(root.attribute("height"), Some("400"));
    assert!(
        texts(&doc).iter().any(|t| t == &chart.title),
        "{}: title missing in {:?}",
        chart.id,
        texts(&doc)
    );
    text
}

fn xs(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

fn chart_with(id: &str, series: Vec<Series>) -> Chart {
    let mut c = Chart::new(
        id,
        &format!("Title of {id}"),
        Axis::linear("Request number"),
        Axis::linear("Latency (ms)"),
    );
    c.series = series;
    c
}

#[test]
fn scatter_draws_every_point_as_a_circle() {
    let s = Series::new(
        "ttft",
        Mark::Scatter,
        xs(7),
        vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0],
    );
    let text = check_both(&chart_with("scatter", vec![s]));
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert!(
        count(&doc, "circle") >= 7,
        "{} circles",
        count(&doc, "circle")
    );
}

#[test]
fn every_mark_renders() {
    let n = 12;
    let y: Vec<f64> = (0..n).map(|i| 10.0 + (i as f64).sin() * 3.0).collect();
    let low: Vec<f64> = y.iter().map(|v| v - 1.0).collect();
    let high: Vec<f64> = y.iter().map(|v| v + 1.5).collect();
    let labels: Vec<String> = (0..n).map(|i| format!("c={}", 1 << i)).collect();
    let cases = vec![
        Series::new("line", Mark::Line, xs(n), y.clone()).labels(labels.clone()),
        Series::new("step", Mark::Step, xs(n), y.clone()),
        Series::new("area", Mark::Area, xs(n), y.clone()).role(Role::Ok),
        Series::new("bars", Mark::Bars, xs(n), y.clone()).width(0.5),
        Series::new("bars auto width", Mark::Bars, xs(n), y.clone()),
        Series::new("band", Mark::Band, xs(n), y.clone())
            .y_range(low.clone(), high.clone())
            .role(Role::Reference),
        Series::new("spans", Mark::Spans, xs(n), xs(n))
            .ends(xs(n).iter().map(|x| x + 3.0).collect())
            .role(Role::Error),
        Series::new("errorbars", Mark::ErrorBars, xs(n), y.clone())
            .y_range(low.clone(), high.clone())
            .x_range(
                xs(n).iter().map(|x| x - 0.2).collect(),
                xs(n).iter().map(|x| x + 0.2).collect(),
            ),
        Series::new("knee", Mark::Marker, vec![4.0], vec![12.0])
            .labels(vec!["knee c=16".into()])
            .role(Role::Knee),
    ];
    for s in cases {
        let id = s.name.replace(' ', "_");
        let text = check_both(&chart_with(&id, vec![s.clone()]));
        if s.mark == Mark::Marker {
            let doc = roxmltree::Document::parse(&text).unwrap();
            assert!(texts(&doc).iter().any(|t| t == "knee c=16"), "marker label");
        }
    }
    // All of them together, with a legend.
    let mut all = chart_with("all", Vec::new());
    all.series = vec![
        Series::new("line", Mark::Line, xs(n), y.clone()),
        Series::new("band", Mark::Band, xs(n), y.clone()).y_range(low, high),
        Series::new("points", Mark::Scatter, xs(n), y).role(Role::Cancelled),
    ];
    all.caption = Some("every request drawn".into());
    let text = check_both(&all);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let t = texts(&doc);
    for want in ["line", "band", "points", "every request drawn"] {
        assert!(t.iter().any(|s| s == want), "{want} missing in {t:?}");
    }
}

#[test]
fn dark_theme_changes_the_background() {
    let chart = chart_with("dark", vec![Series::new("a", Mark::Line, xs(3), xs(3))]);
    let top_left = |theme| {
        let (_, _, px, channels) = decode(&png(&chart, theme, SMALL).unwrap());
        assert!(channels >= 3);
        (px[0], px[1], px[2])
    };
    assert_eq!(top_left(Theme::Light), (255, 255, 255));
    assert_eq!(top_left(Theme::Dark), (0x1a, 0x1a, 0x1a));
    assert_eq!(Theme::parse("dark"), Some(Theme::Dark));
    assert_eq!(Theme::parse(" Light "), Some(Theme::Light));
    assert_eq!(Theme::parse("sepia"), None);
    assert_eq!(Theme::default(), Theme::Light);
}

#[test]
fn absent_chart_shows_its_note() {
    let chart = Chart::absent("gpu", "GPU utilization", "No GPU telemetry in this run");
    let (w, h, _, _) = decode(&png(&chart, Theme::Dark, SMALL).unwrap());
    assert_eq!((w, h), (800, 400));
    let text = svg(&chart, Theme::Light, SMALL).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let t = texts(&doc);
    assert!(t.iter().any(|s| s == "GPU utilization"), "{t:?}");
    assert!(
        t.join(" ").contains("No GPU telemetry in this run"),
        "{t:?}"
    );
}

#[test]
fn chart_without_drawable_points_is_still_an_image() {
    let empty = chart_with("empty", vec![Series::new("e", Mark::Line, vec![], vec![])]);
    let text = check_both(&empty);
    assert!(text.contains("No data to draw"));
    let none = chart_with("none", Vec::new());
    check_both(&none);
}

#[test]
fn log_axis_skips_zero_and_negative_values() {
    let mut chart = chart_with(
        "log",
        vec![
            Series::new(
                "s",
                Mark::Scatter,
                vec![0.0, -1.0, 1.0, 10.0, 1000.0],
                vec![5.0, 0.0, -3.0, 20.0, 300.0],
            ),
            Series::new("b", Mark::Bars, vec![1.0, 2.0], vec![0.0, 50.0]),
            Series::new("a", Mark::Area, vec![-5.0, 1.0, 3.0], vec![1.0, 0.0, 4.0]),
            Series::new("sp", Mark::Spans, vec![-1.0, 1.0], vec![1.0, 2.0]).ends(vec![5.0, -2.0]),
            Series::new("eb", Mark::ErrorBars, vec![10.0], vec![10.0])
                .y_range(vec![-1.0], vec![20.0]),
        ],
    );
    chart.x.log = true;
    chart.y.log = true;
    check_both(&chart);
    // Only non-positive values: nothing to draw, still an image.
    let mut chart = chart_with(
        "log_empty",
        vec![Series::new(
            "s",
            Mark::Line,
            vec![0.0, -1.0],
            vec![1.0, 2.0],
        )],
    );
    chart.x.log = true;
    let text = check_both(&chart);
    assert!(text.contains("No data to draw"));
}

#[test]
fn dual_axis_chart_labels_the_right_axis() {
    let mut chart = chart_with(
        "dual",
        vec![
            Series::new(
                "throughput",
                Mark::Step,
                xs(10),
                xs(10).iter().map(|x| x * 100.0).collect(),
            ),
            Series::new("GPU utilization", Mark::Line, xs(10), vec![20.0; 10]).right(),
        ],
    );
    chart.y2 = Some(Axis::linear("GPU utilization (%)"));
    let text = check_both(&chart);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let t = texts(&doc);
    assert!(t.iter().any(|s| s == "GPU utilization (%)"), "{t:?}");
    assert!(
        t.iter().any(|s| s == "GPU utilization (right axis)"),
        "{t:?}"
    );
    // A log right axis works too.
    chart.y2 = Some(Axis {
        label: "log right".into(),
        log: true,
    });
    check_both(&chart);
}

#[test]
fn big_scatter_is_thinned_in_svg_only() {
    let n = 30_000;
    let y: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
    let chart = chart_with("big", vec![Series::new("ttft", Mark::Scatter, xs(n), y)]);
    let text = svg(&chart, Theme::Light, SMALL).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let circles = count(&doc, "circle");
    assert!(
        (SVG_MAX_SCATTER_POINTS / 2..21_000).contains(&circles),
        "{circles} circles"
    );
    let t = texts(&doc).join("\n");
    assert!(t.contains("every 2nd of 30,000"), "{t}");
    // The PNG has no caption about it (it draws everything) and still decodes.
    let (w, h, _, _) = decode(&png(&chart, Theme::Light, SMALL).unwrap());
    assert_eq!((w, h), (800, 400));
}

#[test]
fn nan_and_infinite_values_are_skipped() {
    let bad = vec![
        f64::NAN,
        1.0,
        f64::INFINITY,
        3.0,
        f64::NEG_INFINITY,
        5.0,
        1e308,
    ];
    let n = bad.len();
    let mark_series = |mark| Series::new(format!("{mark:?}"), mark, bad.clone(), bad.clone());
    let mut series: Vec<Series> = [
        Mark::Scatter,
        Mark::Line,
        Mark::Step,
        Mark::Area,
        Mark::Bars,
        Mark::Marker,
    ]
    .into_iter()
    .map(mark_series)
    .collect();
    series.push(mark_series(Mark::Band).y_range(bad.clone(), bad.clone()));
    series.push(mark_series(Mark::Spans).ends(bad.clone()));
    series.push(
        mark_series(Mark::ErrorBars)
            .y_range(bad.clone(), bad.clone())
            .x_range(bad.clone(), bad.clone()),
    );
    series.push(Series::new("bars nan width", Mark::Bars, xs(n), xs(n)).width(f64::NAN));
    check_both(&chart_with("nan", series));
    // Only NaN: nothing to draw.
    let only_nan = chart_with(
        "only_nan",
        vec![Series::new(
            "n",
            Mark::Scatter,
            vec![f64::NAN],
            vec![f64::NAN],
        )],
    );
    check_both(&only_nan);
}

#[test]
fn hostile_shapes_do_not_panic() {
    // Columns of different lengths (a bad JSON file), short companion columns and labels.
    let mut s = Series::new("ragged", Mark::ErrorBars, xs(10), xs(10));
    s.y.truncate(4);
    s.y_low = Some(vec![0.0]);
    s.x_high = Some(vec![]);
    s.labels = Some(vec!["only one".into()]);
    let mut spans = Series::new("spans", Mark::Spans, xs(5), xs(5));
    spans.x_high = Some(vec![1.0, 2.0]);
    let mut band = Series::new("band", Mark::Band, xs(5), xs(5));
    band.y_high = Some(vec![1.0]);
    let single = Series::new("single", Mark::Line, vec![2.0], vec![2.0]);
    let equal = Series::new("equal", Mark::Bars, vec![3.0; 4], vec![0.0; 4]);
    // Extreme magnitudes and nearly equal values far from zero (nanosecond timestamps).
    let huge = Series::new(
        "huge",
        Mark::Scatter,
        vec![-1e300, 1e300],
        vec![1e-300, 2e-300],
    );
    let close = Series::new(
        "close",
        Mark::Line,
        vec![1.7e18, 1.7e18 + 1e7],
        vec![1.0, 2.0],
    );
    let mut chart = chart_with("ragged", vec![s, spans, band, single, equal, huge, close]);
    chart.title = "a\u{0}title <with> & \"markup\"\nand a newline".into();
    chart.x.label = "x\u{7}".repeat(500);
    let text = svg(&chart, Theme::Dark, SMALL).unwrap();
    roxmltree::Document::parse(&text).expect("control characters removed");
    let (w, h, _, _) = decode(&png(&chart, Theme::Dark, SMALL).unwrap());
    assert_eq!((w, h), (800, 400));
}

#[test]
fn series_with_another_statistic_are_not_drawn() {
    let chart = chart_with(
        "stats",
        vec![
            Series::new("avg", Mark::Line, xs(3), xs(3)).stat("avg"),
            Series::new("p99 only in the report", Mark::Line, xs(3), xs(3)).stat("p99"),
        ],
    );
    let text = check_both(&chart);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let t = texts(&doc);
    assert!(t.iter().any(|s| s == "avg"));
    assert!(!t.iter().any(|s| s.contains("p99 only")), "{t:?}");
}

#[test]
fn sizes_are_honoured_and_checked() {
    let chart = chart_with("sizes", vec![Series::new("a", Mark::Scatter, xs(5), xs(5))]);
    for (w, h) in [(1600, 800), (320, 200), (40, 30), (1, 1)] {
        let size = Size {
            width: w,
            height: h,
        };
        let (dw, dh, _, _) = decode(&png(&chart, Theme::Light, size).unwrap());
        assert_eq!((dw, dh), (w, h));
        let text = svg(&chart, Theme::Light, size).unwrap();
        roxmltree::Document::parse(&text).unwrap();
    }
    assert_eq!(
        Size::default(),
        Size {
            width: 1600,
            height: 800
        }
    );
    let zero = Size {
        width: 0,
        height: 10,
    };
    assert!(matches!(
        png(&chart, Theme::Light, zero),
        Err(RenderError::Size { .. })
    ));
    assert!(matches!(
        svg(&chart, Theme::Light, zero),
        Err(RenderError::Size { .. })
    ));
}

#[test]
fn large_charts_render_whole() {
    let n = 50_000;
    let y: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 + 1.0).collect();
    let scatter = chart_with(
        "big_scatter",
        vec![Series::new("ttft", Mark::Scatter, xs(n), y)],
    );
    let rows = 10_000;
    let starts: Vec<f64> = (0..rows).map(|i| i as f64 * 0.01).collect();
    let ends: Vec<f64> = starts.iter().map(|s| s + 2.0).collect();
    let spans = chart_with(
        "timeline",
        vec![Series::new("requests", Mark::Spans, starts, xs(rows)).ends(ends)],
    );
    // Sizes that real runs reach draw in full; speed is for benchmarks, not tests.
    for chart in [&scatter, &spans] {
        let bytes = png(chart, Theme::Light, Size::default()).unwrap();
        assert_eq!(decode(&bytes).0, 1600, "{}", chart.id);
    }
}
