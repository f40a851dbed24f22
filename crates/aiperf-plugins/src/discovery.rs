//! Where external manifests are found: `AIPERF_PLUGIN_PATH` (a `:`-separated list of manifest
//! files or directories), then the user config directory (`$XDG_CONFIG_HOME/aiperf/plugins`, else
//! `~/.config/aiperf/plugins`). In a directory, every `*.yaml`/`*.yml` file and every
//! `*/plugins.yaml` one level down is a manifest, in name order.

use std::path::{Path, PathBuf};

/// The user's plugin directory.
pub fn user_plugin_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|c| c.join("aiperf").join("plugins"))
}

/// Every manifest to load, in load order.
pub fn manifest_paths() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = std::env::var("AIPERF_PLUGIN_PATH")
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    roots.extend(user_plugin_dir());
    let mut out = Vec::new();
    for root in roots {
        collect(&root, &mut out);
    }
    out
}

fn collect(root: &Path, out: &mut Vec<PathBuf>) {
    if root.is_file() {
        out.push(root.to_path_buf());
        return;
    }
    let Ok(dir) = std::fs::read_dir(root) else {
        return;
    };
    let mut items: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    items.sort();
    for p in items {
        if p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        } else if p.is_dir() && p.join("plugins.yaml").is_file() {
            out.push(p.join("plugins.yaml"));
        }
    }
}
