//! Typed metadata per category. Entry metadata is validated against these at load time, so a
//! typo in a manifest fails with the file and entry named instead of misbehaving later.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `endpoint` metadata.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointMetadata {
    /// Default path appended to `--url` (`null`: nothing appended).
    pub endpoint_path: Option<String>,
    /// Path used instead when streaming, if different.
    #[serde(default)]
    pub streaming_path: Option<String>,
    pub supports_streaming: bool,
    pub produces_tokens: bool,
    pub tokenizes_input: bool,
    /// Title of the console metrics table.
    #[serde(default = "default_metrics_title")]
    pub metrics_title: String,
    /// Service kind in default artifact directory names (AIPerf: `openai`).
    #[serde(default = "default_service_kind")]
    pub service_kind: String,
    /// Streams end with `data: [DONE]`; a stream without it is marked partial in the records.
    #[serde(default)]
    pub stream_done_sentinel: bool,
    /// Declarative request/response mapping (the `template` endpoint).
    #[serde(default)]
    pub template: Option<TemplateMetadata>,
}

fn default_metrics_title() -> String {
    "LLM Metrics".to_string()
}

fn default_service_kind() -> String {
    "openai".to_string()
}

/// A request body template and where the response content is.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateMetadata {
    /// Jinja template rendering the JSON body. Variables: `text`, `texts`, `model`, `max_tokens`,
    /// `role`, `stream`, `turn`.
    pub body: String,
    /// JMESPath to the output text in each response document (whole body or SSE event).
    #[serde(default)]
    pub response_field: Option<String>,
    /// JMESPath to a usage object (`prompt_tokens`, `completion_tokens`) in a response document.
    #[serde(default)]
    pub usage_field: Option<String>,
}

/// `custom_dataset_loader` metadata.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetLoaderMetadata {
    /// File extensions this loader reads (informational).
    #[serde(default)]
    pub file_extensions: Vec<String>,
    /// Extra arguments passed to an external loader.
    #[serde(default)]
    pub args: Vec<String>,
    /// Whether the loader cuts prompts from the synthetic corpus (token-length-only rows); the
    /// corpus is tokenized only when some part of the run needs it.
    #[serde(default)]
    pub needs_corpus: bool,
    /// The `dataset_sampler` used when `--dataset-sampling-strategy` is not given (AIPerf's
    /// `get_preferred_sampling_strategy`); sequential when absent.
    #[serde(default)]
    pub preferred_sampling: Option<String>,
    /// The prompt corpus (`sonnet`, `coding`, `random`) used when `--prompt-corpus` is not
    /// given (AIPerf's `default_prompt_corpus`: coding for agentic traces).
    #[serde(default)]
    pub default_prompt_corpus: Option<String>,
}

/// `data_exporter` metadata.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataExporterMetadata {
    /// Run after every benchmark (default true).
    #[serde(default = "yes")]
    pub enabled_by_default: bool,
    /// Extra arguments passed to an external exporter.
    #[serde(default)]
    pub args: Vec<String>,
}

impl Default for DataExporterMetadata {
    fn default() -> Self {
        Self {
            enabled_by_default: true,
            args: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// Every schema name a category may declare.
pub const SCHEMAS: [&str; 3] = [
    "EndpointMetadata",
    "DatasetLoaderMetadata",
    "DataExporterMetadata",
];

/// Checks `value` against the schema called `schema`.
pub fn validate(schema: &str, value: &Value) -> Result<(), String> {
    fn check<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(v.clone())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    match schema {
        "EndpointMetadata" => check::<EndpointMetadata>(value),
        "DatasetLoaderMetadata" => check::<DatasetLoaderMetadata>(value),
        "DataExporterMetadata" => check::<DataExporterMetadata>(value),
        other => Err(format!("unknown metadata schema '{other}'")),
    }
}
