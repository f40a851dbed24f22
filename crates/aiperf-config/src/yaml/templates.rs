//! `aiperf config init`: run files adapted from AIPerf's own templates, each with AIPerf's
//! `# @template` header (title, description, category, tags, difficulty) that `--list` and
//! `--search` read.

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        const NAMES: &[&str] = &[$($name),*];
        const TEXTS: &[&str] = &[$(include_str!(concat!("../../templates/", $name, ".yaml"))),*];
    };
}

templates!(
    "minimal",
    "warmup_profiling",
    "goodput_slo",
    "latency_test",
    "ramping",
    "time_based_soak",
    "request_cancellation",
    "multi_url_load_balancing",
    "fixed_schedule",
    "multi_turn_conversation",
    "inline_dataset",
    "trace_replay",
    "public_dataset",
    "multimodal_vision",
    "audio_multimodal",
    "embeddings",
    "sweep_distributions",
    "sweep_with_plot",
    "kv_cache_test",
    "long_context",
    "gpu_telemetry",
);

/// AIPerf's category order for `--list`.
pub const CATEGORY_ORDER: &[&str] = &[
    "Getting Started",
    "Load Testing",
    "Datasets",
    "Multimodal",
    "Specialized Endpoints",
    "Sweep & Multi-Run",
    "Advanced",
];

/// A template's `# @template` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    pub name: &'static str,
    pub title: String,
    pub description: String,
    pub category: String,
    pub tags: Vec<String>,
    pub difficulty: String,
}

impl TemplateInfo {
    /// Whether `keyword` (case-insensitive) is in the name, title, description or tags.
    pub fn matches(&self, keyword: &str) -> bool {
        let k = keyword.to_lowercase();
        [self.name, &self.title, &self.description]
            .iter()
            .any(|f| f.to_lowercase().contains(&k))
            || self.tags.iter().any(|t| t.to_lowercase().contains(&k))
    }
}

/// The text of the template `name` (e.g. `minimal`), if there is one.
pub fn template(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".yaml").unwrap_or(name);
    NAMES.iter().position(|n| *n == name).map(|i| TEXTS[i])
}

/// The names of the templates, simplest first.
pub fn templates() -> &'static [&'static str] {
    NAMES
}

/// Every template's header, in category order, then as listed.
pub fn template_infos() -> Vec<TemplateInfo> {
    let mut infos: Vec<TemplateInfo> = NAMES
        .iter()
        .zip(TEXTS)
        .map(|(name, text)| info(name, text))
        .collect();
    let rank = |c: &str| {
        CATEGORY_ORDER
            .iter()
            .position(|o| *o == c)
            .unwrap_or(usize::MAX)
    };
    infos.sort_by_key(|i| rank(&i.category));
    infos
}

/// Reads the `# key: value` lines of the `# @template` block (up to the first bare `#`).
fn info(name: &'static str, text: &str) -> TemplateInfo {
    let field = |key: &str| {
        text.lines()
            .skip_while(|l| l.trim() != "# @template")
            .take_while(|l| l.trim() != "#")
            .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    TemplateInfo {
        name,
        title: field("title"),
        description: field("description"),
        category: field("category"),
        tags: field("tags")
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        difficulty: field("difficulty"),
    }
}

/// `--model` and `--url` applied to a template's text: the first `model:` under `benchmark`
/// and the endpoint's `url:` lines are replaced, keeping the comments and layout.
pub fn with_overrides(text: &str, model: Option<&str>, url: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut model_done, mut url_done) = (model.is_none(), url.is_none());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let eol = if line.ends_with('\n') { "\n" } else { "" };
        match (model, url) {
            (Some(m), _) if !model_done && trimmed.starts_with("model: ") => {
                out.push_str(&format!("{indent}model: {m}{eol}"));
                model_done = true;
            }
            (_, Some(u)) if !url_done && trimmed.starts_with("url: ") => {
                out.push_str(&format!("{indent}url: {u}{eol}"));
                url_done = true;
            }
            _ => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_a_complete_header_in_a_known_category() {
        for i in template_infos() {
            assert!(!i.title.is_empty(), "{}: title", i.name);
            assert!(!i.description.is_empty(), "{}: description", i.name);
            assert!(
                CATEGORY_ORDER.contains(&i.category.as_str()),
                "{}: category {:?}",
                i.name,
                i.category
            );
            assert!(!i.tags.is_empty(), "{}: tags", i.name);
            assert!(
                ["beginner", "intermediate", "advanced"].contains(&i.difficulty.as_str()),
                "{}: difficulty {:?}",
                i.name,
                i.difficulty
            );
        }
        let infos = template_infos();
        assert_eq!(infos[0].category, "Getting Started", "sorted by category");
        assert_eq!(infos.len(), templates().len());
    }

    #[test]
    fn search_and_overrides() {
        let hits: Vec<&str> = template_infos()
            .into_iter()
            .filter(|i| i.matches("GPU"))
            .map(|i| i.name)
            .collect();
        assert!(hits.contains(&"gpu_telemetry"), "{hits:?}");
        assert!(!hits.contains(&"minimal"));
        let text =
            "benchmark:\n  model: a\n  endpoint:\n    url: http://x # c\n  other:\n    url: keep\n";
        assert_eq!(
            with_overrides(text, Some("m2"), Some("http://y")),
            "benchmark:\n  model: m2\n  endpoint:\n    url: http://y\n  other:\n    url: keep\n"
        );
        assert_eq!(with_overrides(text, None, None), text);
    }
}
