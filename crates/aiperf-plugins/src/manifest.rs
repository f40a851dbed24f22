//! The two manifest file formats, as Rust types (their JSON Schemas are generated from these).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only manifest schema version understood.
pub const SCHEMA_VERSION: &str = "1.0";

/// `categories.yaml`: the kinds of pluggable pieces.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct CategoriesManifest {
    /// Must be "1.0".
    pub schema_version: String,
    /// Category name -> declaration, in display order.
    #[serde(flatten)]
    pub categories: IndexMap<String, CategoryDecl>,
}

/// One category.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryDecl {
    /// The Rust trait (or protocol) implementations provide.
    pub protocol: String,
    /// Name of the typed schema entry metadata must satisfy (e.g. `EndpointMetadata`).
    #[serde(default)]
    pub metadata_schema: Option<String>,
    /// The `aiperf profile` flag whose values are this category's entry names.
    #[serde(default)]
    pub flag: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Infrastructure categories hidden from `aiperf plugins` unless `--all`.
    #[serde(default)]
    pub internal: bool,
}

/// `plugins.yaml`: plugin entries, by category then name.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct PluginsManifest {
    /// Must be "1.0".
    pub schema_version: String,
    /// Who provides these plugins (defaults to the manifest's directory name).
    #[serde(default)]
    pub package: Option<PackageDecl>,
    /// Category name -> entry name -> entry, in registration order.
    #[serde(flatten)]
    pub categories: IndexMap<String, IndexMap<String, EntryDecl>>,
}

/// Package information of an external manifest.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageDecl {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
}

/// One plugin entry.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryDecl {
    /// What implements the entry: a Rust path built into aiperf (`aiperf_endpoints::chat::Chat`),
    /// or `exec:<path>` for an external executable (relative to the manifest's directory).
    /// AIPerf's `class` is accepted as an alias.
    #[serde(alias = "class")]
    pub implementation: String,
    #[serde(default)]
    pub description: String,
    /// Higher wins when several packages register the same name.
    #[serde(default)]
    pub priority: i32,
    /// Category-specific settings, checked against the category's `metadata_schema`.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// JSON Schema of `plugins.yaml`, pretty-printed.
pub fn plugins_schema() -> String {
    let mut s =
        serde_json::to_string_pretty(&schemars::schema_for!(PluginsManifest)).unwrap_or_default();
    s.push('\n');
    s
}

/// JSON Schema of `categories.yaml`, pretty-printed.
pub fn categories_schema() -> String {
    let mut s = serde_json::to_string_pretty(&schemars::schema_for!(CategoriesManifest))
        .unwrap_or_default();
    s.push('\n');
    s
}
