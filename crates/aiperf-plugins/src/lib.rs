//! The plugin registry: every name a user types to pick a piece of aiperf (`--endpoint-type chat`,
//! `--ui-type none`, `--custom-dataset-type single_turn`, ...) is an entry here, not a `match` arm.
//!
//! - Categories come from the embedded `categories.yaml`; built-in entries from the embedded
//!   `plugins.yaml` ([`Registry::builtin`]).
//! - External manifests are found on `AIPERF_PLUGIN_PATH` and in the user config directory
//!   ([`discovery`], [`Registry::discover`]). They can add declarative endpoints (the template
//!   endpoint) and external executables (`exec:`) that speak the JSON-lines protocol of
//!   `docs/plugins.md`.
//! - Conflicts resolve as AIPerf's do (see [`registry`]); lookups happen once at start-up.
//! - [`manifest`] holds the manifest types; their JSON Schemas are checked in under `schema/`.

pub mod discovery;
pub mod error;
pub mod manifest;
pub mod metadata;
pub mod registry;

pub use error::PluginError;
pub use metadata::{
    DataExporterMetadata, DatasetLoaderMetadata, EndpointMetadata, TemplateMetadata,
};
pub use registry::{Category, PackageInfo, PluginEntry, Registry};
