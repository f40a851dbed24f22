//! AIPerf's plot config file, as far as it decides what we draw: the
//! `experiment_classification` globs that split runs into baselines and treatments.

use std::path::Path;

use serde_json::Value;

use crate::error::PlotError;

/// `(group, glob)` pairs from `experiment_classification.{baselines, treatments}` of an AIPerf
/// plot config, baselines first (AIPerf's matching order); `default` catches the rest.
pub fn experiment_groups(path: &Path) -> Result<Vec<(String, String)>, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlotError::unreadable(path, e))?;
    let doc: Value = serde_saphyr::from_str(&text).map_err(|e| PlotError::unreadable(path, e))?;
    // A plot config has it at the top; a run file under its `plot:` section.
    let Some(ec) = doc
        .get("experiment_classification")
        .or_else(|| doc.pointer("/plot/experiment_classification"))
    else {
        return Ok(Vec::new());
    };
    let globs = |key: &str| -> Vec<String> {
        ec.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out: Vec<(String, String)> = globs("baselines")
        .into_iter()
        .map(|g| ("baseline".to_string(), g))
        .collect();
    out.extend(
        globs("treatments")
            .into_iter()
            .map(|g| ("treatment".to_string(), g)),
    );
    if let Some(default) = ec.get("default").and_then(Value::as_str) {
        out.push((default.to_string(), "*".to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aiperf_experiment_classification_becomes_groups() {
        let t = tempfile::tempdir().expect("tempdir");
        let path = t.path().join("plot_config.yaml");
        std::fs::write(
            &path,
            "visualization:\n  single_run_defaults: [ttft_over_time]\nexperiment_classification:\n  baselines: [\"*baseline*\"]\n  treatments: [\"*treat*\", \"new_*\"]\n  default: treatment\n",
        )
        .expect("write");
        assert_eq!(
            experiment_groups(&path).expect("groups"),
            vec![
                ("baseline".to_string(), "*baseline*".to_string()),
                ("treatment".to_string(), "*treat*".to_string()),
                ("treatment".to_string(), "new_*".to_string()),
                ("treatment".to_string(), "*".to_string()),
            ]
        );
        std::fs::write(
            &path,
            "schemaVersion: \"2.0\"\nplot:\n  experiment_classification:\n    baselines: [\"b*\"]\n",
        )
        .expect("write");
        assert_eq!(
            experiment_groups(&path).expect("run file"),
            vec![("baseline".to_string(), "b*".to_string())]
        );
        std::fs::write(&path, "visualization: {}\n").expect("write");
        assert!(experiment_groups(&path).expect("none").is_empty());
        std::fs::write(&path, "a: [unclosed\n").expect("write");
        assert!(experiment_groups(&path).is_err());
    }
}
