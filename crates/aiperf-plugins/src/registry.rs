//! The registry: packages -> manifests -> categories -> entries, with AIPerf's resolution rules.
//!
//! Resolution of a name within a category: the highest `priority` wins; at equal priority an
//! external package beats the built-in one; otherwise the first registered wins and a warning is
//! recorded. Shadowed entries stay reachable by their implementation path.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{suggest, PluginError};
use crate::manifest::{CategoriesManifest, PluginsManifest, SCHEMA_VERSION};
use crate::metadata::{self, EndpointMetadata};

static BUILTIN_CATEGORIES: &str = include_str!("categories.yaml");
static BUILTIN_PLUGINS: &str = include_str!("plugins.yaml");

/// Name of the package that holds the built-in plugins.
pub const BUILTIN_PACKAGE: &str = "aiperf";
/// Source name of the embedded manifests.
pub const BUILTIN_SOURCE: &str = "<built-in plugins.yaml>";

/// A category of pluggable pieces.
#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub protocol: String,
    pub metadata_schema: Option<String>,
    pub flag: Option<String>,
    pub description: String,
    pub internal: bool,
}

/// A package that contributed manifests.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub author: String,
    pub builtin: bool,
    pub manifests: Vec<String>,
}

/// A registered object for entries added in code (see [`Registry::register`]).
pub type Instance = Arc<dyn Any + Send + Sync>;

/// One registered plugin.
#[derive(Clone)]
pub struct PluginEntry {
    pub category: String,
    pub name: String,
    /// Rust path of a built-in implementation, or `exec:<absolute path>`.
    pub implementation: String,
    pub description: String,
    pub priority: i32,
    pub package: String,
    pub builtin: bool,
    pub metadata: Value,
    /// Manifest file the entry came from.
    pub source: String,
    /// An implementation object registered in code, if any.
    pub instance: Option<Instance>,
}

impl std::fmt::Debug for PluginEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEntry")
            .field("category", &self.category)
            .field("name", &self.name)
            .field("implementation", &self.implementation)
            .field("priority", &self.priority)
            .field("package", &self.package)
            .finish()
    }
}

impl PluginEntry {
    /// `category:name`.
    pub fn full_name(&self) -> String {
        format!("{}:{}", self.category, self.name)
    }

    /// The external executable, for `exec:` entries.
    pub fn exec_path(&self) -> Option<&Path> {
        self.implementation.strip_prefix("exec:").map(Path::new)
    }
}

/// All categories, packages and entries.
#[derive(Clone, Default)]
pub struct Registry {
    categories: IndexMap<String, Category>,
    packages: Vec<PackageInfo>,
    /// Every entry, shadowed ones included, in registration order per category.
    entries: IndexMap<String, Vec<PluginEntry>>,
    warnings: Vec<String>,
    /// State after loading, restored by [`Registry::reset`].
    baseline: Option<Box<Registry>>,
}

impl Registry {
    /// The built-in categories and plugins.
    pub fn builtin() -> Registry {
        let mut r = Registry::default();
        // The embedded manifests are checked by tests; failing here is a build defect.
        r.load_categories(BUILTIN_CATEGORIES, "<built-in categories.yaml>")
            .expect("built-in categories.yaml is valid");
        r.packages.push(PackageInfo {
            name: BUILTIN_PACKAGE.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Built-in plugins".to_string(),
            author: "aiperf-rs".to_string(),
            builtin: true,
            manifests: vec![BUILTIN_SOURCE.to_string()],
        });
        r.load_plugins(BUILTIN_PLUGINS, BUILTIN_SOURCE, None, true)
            .expect("built-in plugins.yaml is valid");
        r.snapshot();
        r
    }

    /// Built-ins plus every manifest found by [`crate::discovery`].
    pub fn discover() -> Result<Registry, PluginError> {
        let mut r = Registry::builtin();
        for path in crate::discovery::manifest_paths() {
            r.load_manifest_file(&path)?;
        }
        r.snapshot();
        Ok(r)
    }

    fn snapshot(&mut self) {
        self.baseline = None;
        self.baseline = Some(Box::new(self.clone()));
    }

    /// Back to the state right after loading (drops runtime registrations).
    pub fn reset(&mut self) {
        if let Some(b) = self.baseline.take() {
            *self = (*b).clone();
            self.baseline = Some(b);
        }
    }

    fn load_categories(&mut self, text: &str, source: &str) -> Result<(), PluginError> {
        let m: CategoriesManifest =
            serde_saphyr::from_str(text).map_err(|e| PluginError::Manifest {
                path: source.to_string(),
                reason: e.to_string(),
            })?;
        check_version(&m.schema_version, source)?;
        for (name, c) in m.categories {
            if let Some(s) = &c.metadata_schema {
                if !metadata::SCHEMAS.contains(&s.as_str()) {
                    return Err(PluginError::Manifest {
                        path: source.to_string(),
                        reason: format!("category '{name}': unknown metadata_schema '{s}'"),
                    });
                }
            }
            self.categories.insert(
                name.clone(),
                Category {
                    name,
                    protocol: c.protocol,
                    metadata_schema: c.metadata_schema,
                    flag: c.flag,
                    description: c.description.trim().to_string(),
                    internal: c.internal,
                },
            );
        }
        Ok(())
    }

    /// Loads an external `plugins.yaml`.
    pub fn load_manifest_file(&mut self, path: &Path) -> Result<(), PluginError> {
        let source = path.display().to_string();
        let text =
            aiperf_core::textfile::read_to_string(path).map_err(|e| PluginError::Manifest {
                path: source.clone(),
                reason: format!("cannot read: {e}"),
            })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.load_plugins(&text, &source, Some(&base), false)
    }

    /// Loads a plugins manifest; `base` resolves relative `exec:` paths.
    pub fn load_plugins(
        &mut self,
        text: &str,
        source: &str,
        base: Option<&Path>,
        builtin: bool,
    ) -> Result<(), PluginError> {
        let m: PluginsManifest =
            serde_saphyr::from_str(text).map_err(|e| PluginError::Manifest {
                path: source.to_string(),
                reason: e.to_string(),
            })?;
        check_version(&m.schema_version, source)?;
        let package = if builtin {
            BUILTIN_PACKAGE.to_string()
        } else {
            let decl = m.package.clone();
            let name = decl.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| {
                base.and_then(|b| b.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "external".into())
            });
            match self.packages.iter_mut().find(|p| p.name == name) {
                Some(p) => p.manifests.push(source.to_string()),
                None => self.packages.push(PackageInfo {
                    name: name.clone(),
                    version: decl
                        .as_ref()
                        .and_then(|p| p.version.clone())
                        .unwrap_or_else(|| "unknown".into()),
                    description: decl
                        .as_ref()
                        .and_then(|p| p.description.clone())
                        .unwrap_or_default(),
                    author: decl
                        .as_ref()
                        .and_then(|p| p.author.clone())
                        .unwrap_or_default(),
                    builtin: false,
                    manifests: vec![source.to_string()],
                }),
            }
            name
        };
        // Validate everything before registering anything: a bad manifest adds nothing.
        let mut staged = Vec::new();
        for (category, entries) in m.categories {
            let Some(cat) = self.categories.get(&category) else {
                let known: Vec<&str> = self.categories.keys().map(String::as_str).collect();
                return Err(PluginError::Manifest {
                    path: source.to_string(),
                    reason: PluginError::CategoryNotFound {
                        suggestion: suggest(&category, known.iter().copied()),
                        choices: known.iter().map(|s| s.to_string()).collect(),
                        category,
                    }
                    .to_string(),
                });
            };
            for (name, e) in entries {
                let metadata = e.metadata.unwrap_or(Value::Object(Default::default()));
                if let Some(schema) = &cat.metadata_schema {
                    metadata::validate(schema, &metadata).map_err(|reason| {
                        PluginError::Metadata {
                            path: source.to_string(),
                            entry: format!("{category}:{name}"),
                            schema: schema.clone(),
                            reason,
                        }
                    })?;
                }
                let implementation =
                    resolve_implementation(&e.implementation, base).map_err(|reason| {
                        PluginError::BadImplementation {
                            path: source.to_string(),
                            entry: format!("{category}:{name}"),
                            implementation: e.implementation.clone(),
                            reason,
                        }
                    })?;
                staged.push(PluginEntry {
                    category: category.clone(),
                    name,
                    implementation,
                    description: e.description.trim().to_string(),
                    priority: e.priority,
                    package: package.clone(),
                    builtin,
                    metadata,
                    source: source.to_string(),
                    instance: None,
                });
            }
        }
        for entry in staged {
            self.add(entry);
        }
        Ok(())
    }

    fn add(&mut self, entry: PluginEntry) {
        let list = self.entries.entry(entry.category.clone()).or_default();
        if let Some(prev) = list.iter().find(|e| {
            e.name == entry.name && e.priority == entry.priority && e.builtin == entry.builtin
        }) {
            self.warnings.push(format!(
                "{}: registered by '{}' ({}) and '{}' ({}) at equal priority; keeping the first",
                entry.full_name(),
                prev.package,
                prev.source,
                entry.package,
                entry.source
            ));
        }
        list.push(entry);
    }

    /// Registers an entry at run time (tests, and Rust programs embedding aiperf). `instance` is
    /// the implementation object when it is not one of the built-in paths.
    pub fn register(
        &mut self,
        category: &str,
        name: &str,
        implementation: &str,
        priority: i32,
        metadata: Value,
        instance: Option<Instance>,
    ) -> Result<(), PluginError> {
        let cat = self.category(category)?.clone();
        if let Some(schema) = &cat.metadata_schema {
            metadata::validate(schema, &metadata).map_err(|reason| PluginError::Metadata {
                path: "<runtime>".into(),
                entry: format!("{category}:{name}"),
                schema: schema.clone(),
                reason,
            })?;
        }
        self.add(PluginEntry {
            category: category.into(),
            name: name.into(),
            implementation: implementation.into(),
            description: String::new(),
            priority,
            package: "<runtime>".into(),
            builtin: false,
            metadata,
            source: "<runtime>".into(),
            instance,
        });
        Ok(())
    }

    /// A category by name.
    pub fn category(&self, name: &str) -> Result<&Category, PluginError> {
        self.categories.get(name).ok_or_else(|| {
            let choices: Vec<String> = self.categories.keys().cloned().collect();
            PluginError::CategoryNotFound {
                category: name.into(),
                suggestion: suggest(name, choices.iter().map(String::as_str)),
                choices,
            }
        })
    }

    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    /// The entry called `name` (or whose implementation path is `name`) in `category`.
    pub fn get(&self, category: &str, name: &str) -> Result<&PluginEntry, PluginError> {
        self.category(category)?;
        let all = self.entries.get(category).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(winner) = winner(all.iter().filter(|e| e.name == name)) {
            return Ok(winner);
        }
        if let Some(by_path) = all.iter().find(|e| e.implementation == name) {
            return Ok(by_path);
        }
        let choices: Vec<String> = self
            .names(category)
            .into_iter()
            .map(str::to_string)
            .collect();
        Err(PluginError::TypeNotFound {
            category: category.into(),
            name: name.into(),
            suggestion: suggest(name, choices.iter().map(String::as_str)),
            choices,
        })
    }

    /// The winning entry of every name in `category`, in registration order.
    pub fn iter(&self, category: &str) -> Vec<&PluginEntry> {
        let all = self.entries.get(category).map(Vec::as_slice).unwrap_or(&[]);
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for e in all {
            if seen.contains(&e.name.as_str()) {
                continue;
            }
            seen.push(&e.name);
            if let Some(w) = winner(all.iter().filter(|o| o.name == e.name)) {
                out.push(w);
            }
        }
        out
    }

    /// Every entry of `category`, shadowed ones included.
    pub fn all_entries(&self, category: &str) -> &[PluginEntry] {
        self.entries.get(category).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Names in `category`.
    pub fn names(&self, category: &str) -> Vec<&str> {
        self.iter(category)
            .into_iter()
            .map(|e| e.name.as_str())
            .collect()
    }

    /// Raw metadata of an entry.
    pub fn metadata(&self, category: &str, name: &str) -> Result<&Value, PluginError> {
        Ok(&self.get(category, name)?.metadata)
    }

    /// Metadata of an entry as the typed struct `T`.
    pub fn typed_metadata<T: DeserializeOwned>(
        &self,
        category: &str,
        name: &str,
    ) -> Result<T, PluginError> {
        let e = self.get(category, name)?;
        serde_json::from_value(e.metadata.clone()).map_err(|err| PluginError::Metadata {
            path: e.source.clone(),
            entry: e.full_name(),
            schema: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("")
                .into(),
            reason: err.to_string(),
        })
    }

    pub fn endpoint_metadata(&self, name: &str) -> Result<EndpointMetadata, PluginError> {
        self.typed_metadata("endpoint", name)
    }

    /// Reverse lookup: the name under which `implementation` is registered in `category`.
    pub fn find_name(&self, category: &str, implementation: &str) -> Option<&str> {
        self.all_entries(category)
            .iter()
            .find(|e| e.implementation == implementation)
            .map(|e| e.name.as_str())
    }

    pub fn packages(&self) -> &[PackageInfo] {
        &self.packages
    }

    pub fn package(&self, name: &str) -> Option<&PackageInfo> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Conflicts noticed while loading.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Checks every entry: metadata against its schema, `exec:` files present, and built-in paths
    /// known to `is_builtin_implementation(category, path)`. Returns one message per problem.
    pub fn validate_all(
        &self,
        is_builtin_implementation: &dyn Fn(&str, &str) -> bool,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (category, entries) in &self.entries {
            let schema = self
                .categories
                .get(category)
                .and_then(|c| c.metadata_schema.clone());
            for e in entries {
                if let Some(s) = &schema {
                    if let Err(reason) = metadata::validate(s, &e.metadata) {
                        problems.push(format!(
                            "{}: {}: metadata does not match {s}: {reason}",
                            e.source,
                            e.full_name()
                        ));
                    }
                }
                if let Some(path) = e.exec_path() {
                    if !path.is_file() {
                        problems.push(format!(
                            "{}: {}: executable '{}' not found",
                            e.source,
                            e.full_name(),
                            path.display()
                        ));
                    }
                } else if e.instance.is_none()
                    && !is_builtin_implementation(category, &e.implementation)
                {
                    problems.push(format!(
                        "{}: {}: implementation '{}' is not built into this aiperf",
                        e.source,
                        e.full_name(),
                        e.implementation
                    ));
                }
            }
        }
        problems
    }
}

/// Highest priority, then external over built-in, then first registered.
fn winner<'a>(candidates: impl Iterator<Item = &'a PluginEntry>) -> Option<&'a PluginEntry> {
    let mut best: Option<&PluginEntry> = None;
    for c in candidates {
        best = match best {
            None => Some(c),
            Some(b) if (c.priority, !c.builtin) > (b.priority, !b.builtin) => Some(c),
            keep => keep,
        };
    }
    best
}

fn check_version(found: &str, source: &str) -> Result<(), PluginError> {
    if found == SCHEMA_VERSION {
        Ok(())
    } else {
        Err(PluginError::Manifest {
            path: source.into(),
            reason: format!(
                "schema_version '{found}' is not supported (expected \"{SCHEMA_VERSION}\")"
            ),
        })
    }
}

/// `exec:` paths become absolute (relative to the manifest) and must exist; other values must
/// look like a Rust path.
fn resolve_implementation(raw: &str, base: Option<&Path>) -> Result<String, String> {
    if let Some(p) = raw.strip_prefix("exec:") {
        let p = p.trim();
        if p.is_empty() {
            return Err("empty executable path".into());
        }
        let path = match base {
            Some(b) if Path::new(p).is_relative() => b.join(p),
            _ => PathBuf::from(p),
        };
        if !path.is_file() {
            return Err(format!("executable '{}' not found", path.display()));
        }
        return Ok(format!("exec:{}", path.display()));
    }
    let valid = !raw.is_empty()
        && raw.split("::").all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if valid {
        Ok(raw.to_string())
    } else {
        Err("expected a Rust path like `crate::module::Type` or `exec:<path>`".into())
    }
}
