//! `aiperf analyze-trace`: the ISL/OSL distributions of a Mooncake trace and how much of its
//! prompts an infinite prefix cache would serve, as AIPerf's `PrefixAnalyzer` reports them.
//!
//! Per row: `input_length` (absent: 0), `output_length` (absent: 0), `hash_ids` (absent or
//! empty: none). A `(position, hash_id)` pair seen in more than one row is "repeated"; a row's
//! context length is `input_length` when all its pairs are repeated, else `block_size` per
//! repeated pair, and its unique prompt length is the rest. A row's theoretical hit rate is the
//! share of its blocks before the first one no earlier row contained.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aiperf_metrics::stats::Stats;
use serde_json::{json, Map, Value};

use super::lines::{for_each_object, TraceError};

/// Everything read from the trace that the statistics need.
#[derive(Default)]
pub struct Analyzer {
    block_size: u64,
    isls: Vec<i64>,
    osls: Vec<i64>,
    hash_rows: Vec<Vec<i64>>,
    /// Prefix trie: `(parent node, hash id)` → node; node 0 is the root.
    trie: HashMap<(usize, i64), usize>,
    /// How many rows passed through each node (index = node - 1).
    prefix_counts: Vec<u64>,
    position_counts: HashMap<(usize, i64), u64>,
}

/// The statistics AIPerf prints for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStats {
    pub mean: f64,
    pub std_dev: f64,
    pub min: f64,
    pub p25: f64,
    pub median: f64,
    pub p75: f64,
    pub max: f64,
}

impl MetricStats {
    /// numpy's mean, population std, min, percentiles (linear) and max; `None` when empty.
    fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let values: Vec<f64> = values.into_iter().collect();
        let s = Stats::compute(&values)?;
        let p = |name| s.percentile(name).unwrap_or(f64::NAN);
        Some(MetricStats {
            mean: s.avg,
            std_dev: s.std,
            min: s.min,
            p25: p("p25"),
            median: p("p50"),
            p75: p("p75"),
            max: s.max,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "mean": self.mean,
            "std_dev": self.std_dev,
            "min": self.min,
            "p25": self.p25,
            "median": self.median,
            "p75": self.p75,
            "max": self.max,
        })
    }
}

/// AIPerf's `AnalysisStats`, field for field.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub total_requests: usize,
    pub unique_prefixes: usize,
    pub num_prefix_groups: usize,
    pub cache_hit_rate: f64,
    pub min_isl: i64,
    pub max_isl: i64,
    pub avg_isl: f64,
    pub min_osl: i64,
    pub max_osl: i64,
    pub avg_osl: f64,
    pub prefix_reuse_ratio: f64,
    pub isl_stats: Option<MetricStats>,
    pub osl_stats: Option<MetricStats>,
    pub context_length_stats: Option<MetricStats>,
    pub unique_prompt_length_stats: Option<MetricStats>,
    pub hit_rate_stats: Option<MetricStats>,
}

impl Analysis {
    /// The report file: AIPerf's `model_dump_json(indent=2)` layout.
    pub fn to_json(&self) -> Value {
        let stats = |s: &Option<MetricStats>| s.as_ref().map_or(Value::Null, MetricStats::to_json);
        json!({
            "total_requests": self.total_requests,
            "unique_prefixes": self.unique_prefixes,
            "num_prefix_groups": self.num_prefix_groups,
            "cache_hit_rate": self.cache_hit_rate,
            "min_isl": self.min_isl,
            "max_isl": self.max_isl,
            "avg_isl": self.avg_isl,
            "min_osl": self.min_osl,
            "max_osl": self.max_osl,
            "avg_osl": self.avg_osl,
            "prefix_reuse_ratio": self.prefix_reuse_ratio,
            "isl_stats": stats(&self.isl_stats),
            "osl_stats": stats(&self.osl_stats),
            "context_length_stats": stats(&self.context_length_stats),
            "unique_prompt_length_stats": stats(&self.unique_prompt_length_stats),
            "hit_rate_stats": stats(&self.hit_rate_stats),
        })
    }
}

/// A length field: absent or null is 0, otherwise a whole number >= 0.
fn length_field(row: &Map<String, Value>, name: &str) -> Result<i64, String> {
    match row.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_i64()
            .filter(|n| *n >= 0)
            .ok_or_else(|| format!("'{name}' must be a whole number >= 0, got {v}")),
    }
}

/// `hash_ids`: absent, null or a list of whole numbers.
fn hash_ids_field(row: &Map<String, Value>) -> Result<Vec<i64>, String> {
    match row.get("hash_ids") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| format!("'hash_ids' must hold whole numbers, got {v}"))
            })
            .collect(),
        Some(v) => Err(format!("'hash_ids' must be a list, got {v}")),
    }
}

impl Analyzer {
    pub fn new(block_size: u64) -> Self {
        Analyzer {
            block_size,
            ..Default::default()
        }
    }

    /// Reads every row of a trace file.
    pub fn read_file(&mut self, path: &Path) -> Result<(), TraceError> {
        for_each_object(path, |line, row| {
            self.add_row(row)
                .map_err(|reason| TraceError::line(path, line, reason))
        })
    }

    /// One trace row: its lengths, its path in the prefix trie, its (position, id) pairs.
    pub fn add_row(&mut self, row: &Map<String, Value>) -> Result<(), String> {
        let isl = length_field(row, "input_length")?;
        let osl = length_field(row, "output_length")?;
        let ids = hash_ids_field(row)?;
        self.isls.push(isl);
        self.osls.push(osl);
        let mut node = 0usize;
        for (pos, &id) in ids.iter().enumerate() {
            let next = self.prefix_counts.len() + 1;
            node = *self.trie.entry((node, id)).or_insert(next);
            if node == next {
                self.prefix_counts.push(0);
            }
            self.prefix_counts[node - 1] += 1;
            *self.position_counts.entry((pos, id)).or_default() += 1;
        }
        self.hash_rows.push(ids);
        Ok(())
    }

    /// Context and unique-prompt length of each row, from the repeated (position, id) pairs.
    fn context_lengths(&self) -> (Vec<i64>, Vec<i64>) {
        let repeated = |pos: usize, id: i64| self.position_counts.get(&(pos, id)) > Some(&1);
        let mut context = Vec::with_capacity(self.isls.len());
        let mut unique = Vec::with_capacity(self.isls.len());
        for (&isl, ids) in self.isls.iter().zip(&self.hash_rows) {
            let hits = ids
                .iter()
                .enumerate()
                .filter(|(pos, id)| repeated(*pos, **id))
                .count();
            let ctx = match (ids.is_empty(), hits == ids.len()) {
                (true, _) => 0,
                (false, true) => isl,
                (false, false) => hits as i64 * self.block_size as i64,
            };
            context.push(ctx);
            unique.push(isl - ctx);
        }
        (context, unique)
    }

    /// Per row with hash ids: the share of its blocks before the first one not seen earlier.
    fn hit_rates(&self) -> Vec<f64> {
        let mut seen: HashSet<i64> = HashSet::new();
        let mut rates = Vec::new();
        for ids in self.hash_rows.iter().filter(|ids| !ids.is_empty()) {
            let first_unseen = ids
                .iter()
                .position(|id| !seen.contains(id))
                .unwrap_or(ids.len());
            rates.push(first_unseen as f64 / ids.len() as f64);
            seen.extend(ids.iter().copied());
        }
        rates
    }

    /// Distinct first blocks that start two or more rows.
    fn prefix_groups(&self) -> usize {
        let mut firsts: HashMap<i64, u64> = HashMap::new();
        for ids in &self.hash_rows {
            if let Some(&first) = ids.first() {
                *firsts.entry(first).or_default() += 1;
            }
        }
        firsts.values().filter(|&&n| n > 1).count()
    }

    /// Rows' passes through prefixes shared with another row, over all passes.
    fn prefix_reuse(&self) -> f64 {
        let total: u64 = self.prefix_counts.iter().sum();
        let reused: u64 = self.prefix_counts.iter().filter(|&&n| n > 1).sum();
        if total == 0 {
            0.0
        } else {
            reused as f64 / total as f64
        }
    }

    pub fn finish(&self) -> Analysis {
        let (context, unique) = self.context_lengths();
        let rates = self.hit_rates();
        let as_f64 = |v: &[i64]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        let avg = |v: &[i64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().map(|&x| x as i128).sum::<i128>() as f64 / v.len() as f64
            }
        };
        Analysis {
            total_requests: self.isls.len(),
            unique_prefixes: self.prefix_counts.len(),
            num_prefix_groups: self.prefix_groups(),
            cache_hit_rate: MetricStats::of(rates.iter().copied()).map_or(0.0, |s| s.mean),
            min_isl: self.isls.iter().copied().min().unwrap_or(0),
            max_isl: self.isls.iter().copied().max().unwrap_or(0),
            avg_isl: avg(&self.isls),
            min_osl: self.osls.iter().copied().min().unwrap_or(0),
            max_osl: self.osls.iter().copied().max().unwrap_or(0),
            avg_osl: avg(&self.osls),
            prefix_reuse_ratio: self.prefix_reuse(),
            isl_stats: MetricStats::of(as_f64(&self.isls)),
            osl_stats: MetricStats::of(as_f64(&self.osls)),
            context_length_stats: MetricStats::of(as_f64(&context)),
            unique_prompt_length_stats: MetricStats::of(as_f64(&unique)),
            hit_rate_stats: MetricStats::of(rates),
        }
    }
}

/// `1234567.891` → `1,234,567.89` (Python's `{:,.2f}`).
pub fn thousands_2dp(x: f64) -> String {
    thousands(x, 2)
}

/// Python's `{:,.Nf}`: fixed decimals, the integer part grouped by threes with commas.
pub fn thousands(x: f64, decimals: usize) -> String {
    let fixed = format!("{:.decimals$}", x.abs());
    let (int, frac) = match fixed.split_once('.') {
        Some((i, f)) => (i, format!(".{f}")),
        None => (fixed.as_str(), String::new()),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let zero = fixed.chars().all(|c| c == '0' || c == '.');
    let sign = if x.is_sign_negative() && !zero {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}{frac}")
}

/// A right-justified table in the heavy-head box AIPerf's console (rich) draws, with its
/// title centred above it.
pub fn render_table(title: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let total: usize = widths.iter().map(|w| w + 3).sum::<usize>() + 1;
    let rule = |l: &str, m: &str, r: &str, fill: &str| {
        let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let line = |cells: Vec<&str>, edge: &str| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c:>w$} "))
            .collect();
        format!("{edge}{}{edge}\n", parts.join(edge))
    };
    let pad = total.saturating_sub(title.chars().count());
    let mut out = format!(
        "{}{title}{}\n",
        " ".repeat(pad / 2),
        " ".repeat(pad - pad / 2)
    );
    out += &rule("┏", "┳", "┓", "━");
    out += &line(header.to_vec(), "┃");
    out += &rule("┡", "╇", "┩", "━");
    for r in rows {
        out += &line(r.iter().map(String::as_str).collect(), "│");
    }
    out += &rule("└", "┴", "┘", "─");
    out
}

/// The console report: counts, then the statistics table.
pub fn render_report(a: &Analysis) -> String {
    const COLUMNS: [&str; 8] = [
        "Metric", "Mean", "Std Dev", "Min", "P25", "Median", "P75", "Max",
    ];
    let metrics = [
        ("Input Length", &a.isl_stats),
        ("Context Length", &a.context_length_stats),
        ("Unique Prompt Length", &a.unique_prompt_length_stats),
        ("Output Length", &a.osl_stats),
        ("Theoretical Hit Rates", &a.hit_rate_stats),
    ];
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .map(|(name, stats)| {
            let mut row = vec![name.to_string()];
            match stats {
                Some(s) => row.extend(
                    [s.mean, s.std_dev, s.min, s.p25, s.median, s.p75, s.max].map(thousands_2dp),
                ),
                None => row.extend(std::iter::repeat_n("N/A".to_string(), 7)),
            }
            row
        })
        .collect();
    let count = |n: usize| thousands(n as f64, 0);
    format!(
        "\nTrace Analysis Report\nTotal requests:   {}\nUnique prefixes:  {}\nPrefix groups:    {}\n\n{}\n",
        count(a.total_requests),
        count(a.unique_prefixes),
        count(a.num_prefix_groups),
        render_table("Trace Statistics", &COLUMNS, &rows)
    )
}

/// Writes the JSON report, creating its directory as AIPerf does.
fn write_report(path: &Path, a: &Analysis) -> Result<(), TraceError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TraceError::file(dir, e.to_string()))?;
    }
    let text = serde_json::to_string_pretty(&a.to_json())
        .map_err(|e| TraceError::file(path, e.to_string()))?;
    std::fs::write(path, text).map_err(|e| TraceError::file(path, e.to_string()))
}

/// `aiperf analyze-trace`: 0 on success, 1 when the file is missing, unreadable or has a bad
/// row (named as `file:line: reason`) or the report cannot be written.
pub fn run(input: &Path, block_size: u64, output_file: Option<&Path>) -> Result<(), TraceError> {
    if !input.is_file() {
        return Err(TraceError::file(input, "Input file not found"));
    }
    let mut analyzer = Analyzer::new(block_size);
    analyzer.read_file(input)?;
    let analysis = analyzer.finish();
    print!("{}", render_report(&analysis));
    if let Some(out) = output_file {
        write_report(out, &analysis)?;
        println!("Analysis report saved to {}", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(rows: &[Value], block_size: u64) -> Analysis {
        let mut a = Analyzer::new(block_size);
        for r in rows {
            a.add_row(r.as_object().unwrap()).unwrap();
        }
        a.finish()
    }

    #[test]
    fn thousands_are_grouped_like_python() {
        assert_eq!(thousands_2dp(0.0), "0.00");
        assert_eq!(thousands_2dp(999.999), "1,000.00");
        assert_eq!(thousands_2dp(1234567.891), "1,234,567.89");
        assert_eq!(thousands_2dp(-1234.5), "-1,234.50");
        assert_eq!(thousands_2dp(0.16666), "0.17");
        assert_eq!(thousands(62_000.0, 0), "62,000");
        assert_eq!(thousands(58_704.15, 1), "58,704.2");
    }

    /// Rows `[1,2]`, `[1,2,3]`, `[4]`, `[1,5,6]` at block size 512, worked by hand:
    /// pairs (0,1)×3, (1,2)×2 are repeated; contexts 1000 (all repeated), 2×512, 0, 1×512.
    /// Hit rates: 0/2, 2/3, 0/1, 1/3. Trie nodes: 1, 1-2, 1-2-3, 4, 1-5, 1-5-6 = 6 prefixes,
    /// passes 3+2+1+1+1+1 = 9, of which 3+2 through shared nodes: reuse 5/9.
    #[test]
    fn hand_worked_trace() {
        let rows = [
            json!({"input_length": 1000, "output_length": 10, "hash_ids": [1, 2]}),
            json!({"input_length": 1200, "output_length": 20, "hash_ids": [1, 2, 3]}),
            json!({"input_length": 300, "output_length": 30, "hash_ids": [4]}),
            json!({"input_length": 1500, "output_length": 40, "hash_ids": [1, 5, 6]}),
        ];
        let a = analyze(&rows, 512);
        assert_eq!(
            (a.total_requests, a.unique_prefixes, a.num_prefix_groups),
            (4, 6, 1)
        );
        assert_eq!(a.prefix_reuse_ratio, 5.0 / 9.0);
        let c = a.context_length_stats.unwrap();
        assert_eq!((c.mean, c.min, c.max), (634.0, 0.0, 1024.0));
        let u = a.unique_prompt_length_stats.unwrap();
        assert_eq!((u.mean, u.median, u.max), (366.0, 238.0, 988.0));
        let h = a.hit_rate_stats.unwrap();
        assert_eq!(h.max, 2.0 / 3.0);
        assert!((a.cache_hit_rate - 0.25).abs() < 1e-15);
        // Block size only scales the partly repeated rows: 2×16 and 1×16.
        let small = analyze(&rows, 16).context_length_stats.unwrap();
        assert_eq!(small.mean, (1000.0 + 32.0 + 0.0 + 16.0) / 4.0);
    }

    #[test]
    fn rows_without_hash_ids_have_no_hit_rate() {
        let a = analyze(&[json!({"input_length": 5})], 512);
        assert_eq!(a.hit_rate_stats, None);
        assert_eq!(a.osl_stats.unwrap().max, 0.0);
        assert_eq!(a.unique_prompt_length_stats.unwrap().mean, 5.0);
        let empty = analyze(&[], 512);
        assert_eq!(empty.isl_stats, None);
        assert_eq!(empty.to_json()["avg_isl"], json!(0.0));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut a = Analyzer::new(512);
        for (row, want) in [
            (
                json!({"input_length": -1}),
                "'input_length' must be a whole number >= 0, got -1",
            ),
            (
                json!({"output_length": "x"}),
                "'output_length' must be a whole number >= 0, got \"x\"",
            ),
            (
                json!({"hash_ids": [1.5]}),
                "'hash_ids' must hold whole numbers, got 1.5",
            ),
            (json!({"hash_ids": 3}), "'hash_ids' must be a list, got 3"),
        ] {
            assert_eq!(a.add_row(row.as_object().unwrap()).unwrap_err(), want);
        }
    }

    #[test]
    fn table_matches_rich_layout() {
        let t = render_table("T", &["Metric", "Mean"], &[vec!["A".into(), "1.00".into()]]);
        let want = "        T        \n┏━━━━━━━━┳━━━━━━┓\n┃ Metric ┃ Mean ┃\n┡━━━━━━━━╇━━━━━━┩\n│      A │ 1.00 │\n└────────┴──────┘\n";
        assert_eq!(t, want);
    }
}
