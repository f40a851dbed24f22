//! `profile_export_aiperf.csv`: distributions first (`Metric,avg,min,max,sum,p1..p99,std`),
//! a blank line, then scalars (`Metric,Value`); rows sorted by name, two decimals.

use aiperf_metrics::{MetricValue, Summary, Unit};

const HEADER: [&str; 15] =
    ["Metric", "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std"];

fn cell(v: f64) -> String {
    if v.is_finite() { format!("{v:.2}") } else { String::new() }
}

/// `<Header> (<unit>)`; counts of requests carry no unit, as in AIPerf's CSV.
pub fn label(header: &str, unit: Unit) -> String {
    match unit {
        Unit::Requests => header.to_string(),
        u => format!("{header} ({})", u.label()),
    }
}

pub fn render(summary: &Summary) -> String {
    let mut dist: Vec<(String, Vec<String>)> = Vec::new();
    let mut scalars: Vec<(String, String)> = Vec::new();
    for r in summary.results.iter().filter(|r| r.spec.exported()) {
        let name = label(r.spec.header, r.unit());
        match &r.value {
            MetricValue::Distribution(s) => {
                let mut row = vec![cell(s.avg), cell(s.min), cell(s.max), cell(s.sum)];
                row.extend(s.percentiles.iter().map(|p| cell(*p)));
                row.push(cell(s.std));
                dist.push((name, row));
            }
            MetricValue::Scalar(v) => scalars.push((name, cell(*v))),
        }
    }
    dist.sort_by(|a, b| a.0.cmp(&b.0));
    scalars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    let _ = w.write_record(HEADER);
    for (name, row) in &dist {
        let mut rec = vec![name.clone()];
        rec.extend(row.iter().cloned());
        let _ = w.write_record(&rec);
    }
    let _ = w.write_record([""; 0]);
    let _ = w.write_record(["Metric", "Value"]);
    for (name, v) in &scalars {
        let _ = w.write_record([name.as_str(), v.as_str()]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
