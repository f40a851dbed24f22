//! `profile_export_aiperf.csv`: distributions first (`Metric,avg,min,max,sum,p1..p99,std`),
//! a blank line, then scalars (`Metric,Value`); rows sorted by name, two decimals.

use aiperf_metrics::{MetricValue, Summary, Unit};

const HEADER: [&str; 15] = [
    "Metric", "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95",
    "p99", "std",
];

fn cell(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        String::new()
    }
}

/// `<Header> (<unit>)`; counts of requests carry no unit, as in AIPerf's CSV.
pub fn label(header: &str, unit: Unit) -> String {
    match unit {
        Unit::Requests => header.to_string(),
        u => format!("{header} ({})", u.label()),
    }
}

/// The summary sections, the power-efficiency metrics among the scalars, and AIPerf's GPU
/// table when GPU telemetry was collected.
pub fn render_report(r: &crate::RunReport) -> String {
    let gpu = r.gpu_telemetry.as_ref();
    let energy: Vec<(String, String)> = gpu
        .map(|g| {
            g.energy
                .iter()
                .map(|e| (format!("{} ({})", e.header, e.unit), cell(e.value)))
                .collect()
        })
        .unwrap_or_default();
    let mut scalars = energy;
    if let Some(a) = &r.accuracy {
        scalars.extend(crate::accuracy::csv_scalars(a));
    }
    let mut out = render_with(&r.summary, scalars);
    if let Some(g) = gpu.filter(|g| !g.gpus.is_empty()) {
        out.push_str(&g.render_csv());
    }
    out
}

pub fn render(summary: &Summary) -> String {
    render_with(summary, Vec::new())
}

fn render_with(summary: &Summary, extra_scalars: Vec<(String, String)>) -> String {
    let mut dist: Vec<(String, Vec<String>)> = Vec::new();
    let mut scalars: Vec<(String, String)> = Vec::new();
    for r in summary.results.iter().filter(|r| r.spec.exported()) {
        let name = label(&r.header, r.display_unit());
        match &r.value {
            MetricValue::Weighted(w) => {
                let blank = String::new;
                let mut row = vec![cell(w.avg), cell(w.min), cell(w.max), blank()];
                row.extend([
                    blank(),
                    blank(),
                    blank(),
                    blank(),
                    cell(w.p50),
                    blank(),
                    cell(w.p90),
                    cell(w.p95),
                    cell(w.p99),
                ]);
                row.push(cell(w.std));
                dist.push((name, row));
            }
            MetricValue::Distribution(s) => {
                let mut row = vec![cell(s.avg), cell(s.min), cell(s.max), cell(s.sum)];
                row.extend(s.percentiles.iter().map(|p| cell(*p)));
                row.push(cell(s.std));
                dist.push((name, row));
            }
            MetricValue::Scalar(v) => scalars.push((name, cell(*v))),
        }
    }
    scalars.extend(extra_scalars);
    dist.sort_by(|a, b| a.0.cmp(&b.0));
    scalars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut first = csv::Writer::from_writer(Vec::new());
    let _ = first.write_record(HEADER);
    for (name, row) in &dist {
        let _ = first.write_record(std::iter::once(name).chain(row));
    }
    let mut second = csv::Writer::from_writer(Vec::new());
    let _ = second.write_record(["Metric", "Value"]);
    for (name, v) in &scalars {
        let _ = second.write_record([name, v]);
    }
    let text = |w: csv::Writer<Vec<u8>>| {
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    };
    // Two CSV sections separated by one blank line, as AIPerf writes them.
    format!("{}\n{}", text(first), text(second))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_metrics::{Accumulator, Applicability, RecordInput, RecordValues};

    #[test]
    fn two_sections_sorted_with_two_decimals() {
        let run = Applicability {
            streaming: true,
            produces_tokens: true,
            tokenizes_input: true,
            ..Default::default()
        };
        let mut acc = Accumulator::new(run);
        let content = [10_000_000u64, 20_000_000];
        let v = RecordValues::of_success(&RecordInput {
            start_ns: 0,
            content_ns: &content,
            input_tokens: Some(10),
            output_tokens: Some(3),
            ..Default::default()
        })
        .unwrap();
        acc.add_success(&v, 1_000_000_000);
        let csv = render(&acc.summarize());
        let (dist, scalars) = csv.split_once("\n\n").expect("blank line between sections");
        let dist_lines: Vec<&str> = dist.lines().collect();
        assert_eq!(
            dist_lines[0],
            "Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std"
        );
        let names: Vec<&str> = dist_lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(dist_lines.contains(&"Request Latency (ms),20.00,20.00,20.00,20.00,20.00,20.00,20.00,20.00,20.00,20.00,20.00,20.00,20.00,0.00"));
        // ITL = (20 - 10) ms / (3 - 1) = 5 ms.
        assert!(dist_lines
            .iter()
            .any(|l| l.starts_with("Inter Token Latency (ms),5.00,")));
        let scalar_lines: Vec<&str> = scalars.lines().collect();
        assert_eq!(scalar_lines[0], "Metric,Value");
        assert!(scalar_lines.contains(&"Request Count,1.00"));
        assert!(scalar_lines.contains(&"Benchmark Duration (sec),0.02"));
        assert!(scalar_lines.contains(&"Request Throughput (requests/sec),50.00"));
    }
}
