//! Registry errors, mirroring AIPerf's troubleshooting cases; each names the manifest and entry.

/// Why a lookup or a manifest failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PluginError {
    #[error("Type '{name}' not found for category '{category}'. Valid choices: {}{}", choices.join(", "), did_you_mean(suggestion))]
    TypeNotFound {
        category: String,
        name: String,
        choices: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("unknown plugin category '{category}'. Valid categories: {}{}", choices.join(", "), did_you_mean(suggestion))]
    CategoryNotFound {
        category: String,
        choices: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("{path}: {reason}")]
    Manifest { path: String, reason: String },
    #[error("{path}: {entry}: bad implementation '{implementation}': {reason}")]
    BadImplementation {
        path: String,
        /// `category:name`.
        entry: String,
        implementation: String,
        reason: String,
    },
    #[error("{path}: {entry}: metadata does not match {schema}: {reason}")]
    Metadata {
        path: String,
        /// `category:name`.
        entry: String,
        schema: String,
        reason: String,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(". Did you mean '{s}'?"))
        .unwrap_or_default()
}

/// The closest candidate to `input`, if one is close enough to be a likely typo.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}
