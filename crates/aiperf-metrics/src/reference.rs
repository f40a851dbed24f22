//! `docs/metrics.md`, generated from the registry so the reference cannot drift from the code.

use crate::registry::{Flags, Group, MetricKind, REGISTRY};

fn flag_names(f: Flags) -> String {
    let names = [
        (Flags::STREAMING_ONLY, "streaming"),
        (Flags::PRODUCES_TOKENS_ONLY, "produces tokens"),
        (Flags::TOKENIZES_INPUT_ONLY, "tokenizes input"),
        (Flags::LARGER_IS_BETTER, "larger is better"),
        (Flags::NO_INDIVIDUAL_RECORDS, "not per record"),
        (Flags::ERROR_ONLY, "failed requests"),
        (Flags::INTERNAL, "internal"),
        (Flags::EXPERIMENTAL, "experimental"),
        (Flags::GOODPUT, "needs --goodput"),
        (Flags::USAGE_DIFF_ONLY, "client token counts"),
        (Flags::ERROR_ADJUSTED, "adj_ companion"),
    ];
    names
        .iter()
        .filter(|(flag, _)| f.contains(*flag))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole reference page.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Metrics reference\n\n\
         Generated from `crates/aiperf-metrics/src/registry.rs` (do not edit: run\n\
         `UPDATE_DOCS=1 cargo test -p aiperf-metrics` after changing the registry).\n\n\
         Units: values are computed in the base unit and exported in the display unit. Statistics of\n\
         per-request metrics: avg, min, max, population std, sum, count and numpy's linear-interpolation\n\
         percentiles p1..p99. Metrics marked *adj_ companion* also get an `adj_<tag>` error-adjusted\n\
         version when requests failed (one +inf per failure, nearest-rank percentiles; infinite\n\
         statistics are omitted). Time-weighted metrics report duration-weighted avg, min, max, std and\n\
         p50/p90/p95/p99 over the run window. A metric that cannot be computed for a request is absent,\n\
         never zero. Flags: *streaming* (needs `--streaming`), *produces tokens* / *tokenizes input*\n\
         (endpoint metadata), *client token counts* (not with `--use-server-token-count`),\n\
         *experimental* (shown with `AIPERF_DEV_SHOW_EXPERIMENTAL_METRICS=1`), *internal* (never exported).\n",
    );
    let sections = [
        (Group::Default, "Main table"),
        (Group::Effective, "LLM Metrics: Effective"),
        (Group::Active, "LLM Metrics: Active"),
        (Group::Usage, "LLM Metrics: Usage"),
        (Group::Hidden, "Exported, not printed"),
    ];
    for (group, title) in sections {
        let mut rows: Vec<_> = REGISTRY
            .iter()
            .enumerate()
            .filter(|(_, m)| m.group == group)
            .collect();
        rows.sort_by_key(|(i, m)| (m.display_order, *i));
        out.push_str(&format!("\n## {title}\n\n| tag | header | kind | unit | flags | definition |\n|---|---|---|---|---|---|\n"));
        for (_, m) in rows {
            let unit = if m.unit == m.display_unit {
                m.display_unit.label().to_string()
            } else {
                format!("{} → {}", m.unit.label(), m.display_unit.label())
            };
            let kind = match m.kind {
                MetricKind::Record(_) => "per request",
                MetricKind::ErrorRecord(_) => "per failed request",
                MetricKind::Counter(_) => "counter",
                MetricKind::Derived(_) => "run",
                MetricKind::Timeline(_) => "time-weighted",
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                m.tag,
                m.header,
                kind,
                unit,
                flag_names(m.flags),
                m.doc.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_metrics_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
        let current = super::markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == current,
            "docs/metrics.md is stale: run `UPDATE_DOCS=1 cargo test -p aiperf-metrics`"
        );
    }
}
