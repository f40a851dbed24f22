//! Registry behaviour: loading, AIPerf's resolution rules, errors that name file and entry.

use std::path::Path;

use aiperf_plugins::{PluginError, Registry};
use serde_json::json;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The built-in endpoint types in manifest order: AIPerf's 19.
const BUILTIN_ENDPOINTS: [&str; 19] = [
    "chat",
    "completions",
    "embeddings",
    "responses",
    "messages",
    "chat_embeddings",
    "nim_embeddings",
    "nim_rankings",
    "hf_tei_rankings",
    "cohere_rankings",
    "huggingface_generate",
    "image_generation",
    "image_edit",
    "video_generation",
    "image_retrieval",
    "audio_transcription",
    "solido_rag",
    "raw",
    "template",
];

const ENDPOINT_META: &str =
    "{endpoint_path: /x, supports_streaming: false, produces_tokens: true, tokenizes_input: true}";

#[test]
fn builtins_load_with_their_categories() {
    let r = Registry::builtin();
    assert_eq!(r.names("endpoint"), BUILTIN_ENDPOINTS);
    assert_eq!(
        r.names("dataset_sampler"),
        ["random", "sequential", "shuffle"]
    );
    assert_eq!(r.names("ui"), ["dashboard", "simple", "none"]);
    assert_eq!(
        r.category("endpoint").unwrap().flag.as_deref(),
        Some("--endpoint-type")
    );
    let chat = r.endpoint_metadata("chat").unwrap();
    assert_eq!(chat.endpoint_path.as_deref(), Some("/v1/chat/completions"));
    assert!(chat.supports_streaming && chat.produces_tokens);
    assert_eq!(chat.metrics_title, "LLM Metrics");
    assert_eq!(r.get("endpoint", "chat").unwrap().package, "aiperf");
    assert_eq!(
        r.find_name("endpoint", "aiperf_endpoints::chat::Chat"),
        Some("chat")
    );
    assert!(r.package("aiperf").unwrap().builtin);
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
}

#[test]
fn unknown_names_list_choices_and_suggest() {
    let r = Registry::builtin();
    let err = r.get("endpoint", "chatt").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("Type 'chatt' not found for category 'endpoint'"),
        "{msg}"
    );
    assert!(msg.contains(&BUILTIN_ENDPOINTS.join(", ")), "{msg}");
    assert!(msg.ends_with("Did you mean 'chat'?"), "{msg}");
    let err = r.get("endpont", "chat").unwrap_err();
    assert!(
        matches!(err, PluginError::CategoryNotFound { suggestion: Some(ref s), .. } if s == "endpoint")
    );
}

#[test]
fn resolution_priority_then_external_then_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Registry::builtin();
    // Equal priority: an external package beats the built-in chat.
    let a = write(dir.path(), "a.yaml", &format!(
        "schema_version: '1.0'\npackage: {{name: pkg-a, version: '1.2'}}\nendpoint:\n  chat:\n    implementation: pkg_a::Chat\n    metadata: {ENDPOINT_META}\n"));
    r.load_manifest_file(&a).unwrap();
    assert_eq!(r.get("endpoint", "chat").unwrap().package, "pkg-a");
    // Another external at equal priority: the first registered stays, with a warning.
    let b = write(dir.path(), "b.yaml", &format!(
        "schema_version: '1.0'\npackage: {{name: pkg-b}}\nendpoint:\n  chat:\n    implementation: pkg_b::Chat\n    metadata: {ENDPOINT_META}\n"));
    r.load_manifest_file(&b).unwrap();
    assert_eq!(r.get("endpoint", "chat").unwrap().package, "pkg-a");
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.contains("endpoint:chat") && w.contains("pkg-b")),
        "{:?}",
        r.warnings()
    );
    // Higher priority wins over everything.
    let c = write(dir.path(), "c.yaml", &format!(
        "schema_version: '1.0'\npackage: {{name: pkg-c}}\nendpoint:\n  chat:\n    implementation: pkg_c::Chat\n    priority: 5\n    metadata: {ENDPOINT_META}\n"));
    r.load_manifest_file(&c).unwrap();
    assert_eq!(
        r.get("endpoint", "chat").unwrap().implementation,
        "pkg_c::Chat"
    );
    // Shadowed entries stay reachable by implementation path.
    assert_eq!(
        r.get("endpoint", "aiperf_endpoints::chat::Chat")
            .unwrap()
            .package,
        "aiperf"
    );
    assert_eq!(r.get("endpoint", "pkg_a::Chat").unwrap().package, "pkg-a");
    assert_eq!(
        r.all_entries("endpoint")
            .iter()
            .filter(|e| e.name == "chat")
            .count(),
        4
    );
    assert_eq!(
        r.names("endpoint").iter().filter(|n| **n == "chat").count(),
        1
    );
    assert_eq!(r.package("pkg-a").unwrap().version, "1.2");
    // A built-in at higher priority than an external would win again.
    r.register(
        "endpoint",
        "chat",
        "aiperf_endpoints::chat::Chat",
        9,
        json!({"endpoint_path": "/r", "supports_streaming": true,
        "produces_tokens": true, "tokenizes_input": true}),
        None,
    )
    .unwrap();
    assert_eq!(r.get("endpoint", "chat").unwrap().priority, 9);
    r.reset();
    assert_eq!(
        r.get("endpoint", "chat").unwrap().package,
        "aiperf",
        "reset drops runtime and later registrations"
    );
}

#[test]
fn manifest_errors_name_the_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Registry::builtin();
    let cases = [
        ("cat.yaml", "schema_version: '1.0'\nendpointz:\n  x:\n    implementation: a::B\n", "unknown plugin category 'endpointz'"),
        ("exec.yaml", "schema_version: '1.0'\ndata_exporter:\n  mine:\n    implementation: exec:./nope.sh\n", "data_exporter:mine: bad implementation 'exec:./nope.sh'"),
        ("path.yaml", "schema_version: '1.0'\nui:\n  mine:\n    implementation: 'not a path'\n", "ui:mine: bad implementation"),
        ("meta.yaml", "schema_version: '1.0'\nendpoint:\n  mine:\n    implementation: a::B\n    metadata: {endpoint_path: /x, supports_streaming: yes_please}\n", "endpoint:mine: metadata does not match EndpointMetadata"),
        ("ver.yaml", "schema_version: '2.0'\n", "schema_version '2.0' is not supported"),
        ("syntax.yaml", "schema_version: '1.0'\nendpoint: [unclosed\n", "syntax.yaml"),
    ];
    for (file, text, expected) in cases {
        let path = write(dir.path(), file, text);
        let msg = r.load_manifest_file(&path).unwrap_err().to_string();
        assert!(msg.contains(file), "{file}: {msg}");
        assert!(msg.contains(expected), "{file}: {msg}");
    }
    assert_eq!(
        r.names("endpoint"),
        BUILTIN_ENDPOINTS,
        "failed manifests add nothing"
    );
}

#[test]
fn exec_paths_resolve_relative_to_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "export.sh", "#!/bin/sh\n");
    let m = write(dir.path(), "plugins.yaml", "schema_version: '1.0'\ndata_exporter:\n  mine:\n    implementation: exec:./export.sh\n    description: Mine.\n");
    let mut r = Registry::builtin();
    r.load_manifest_file(&m).unwrap();
    let e = r.get("data_exporter", "mine").unwrap();
    assert_eq!(e.exec_path().unwrap(), dir.path().join("./export.sh"));
    let pkg = r.package(&e.package).unwrap();
    assert!(!pkg.builtin);
    assert_eq!(pkg.manifests, [m.display().to_string()]);
}

#[test]
fn validate_all_reports_unknown_builtin_paths() {
    let mut r = Registry::builtin();
    r.register(
        "ui",
        "ghost",
        "aiperf_engine::ui::Ghost",
        0,
        json!({}),
        None,
    )
    .unwrap();
    let problems = r.validate_all(&|_, path| path != "aiperf_engine::ui::Ghost");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("ui:ghost") && problems[0].contains("not built into"));
}

#[test]
fn discovery_reads_aiperf_plugin_path() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("pkg");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "plugins.yaml", &format!(
        "schema_version: '1.0'\npackage: {{name: found-me}}\nendpoint:\n  custom:\n    implementation: aiperf_endpoints::template::Template\n    metadata: {ENDPOINT_META}\n"));
    std::env::set_var("AIPERF_PLUGIN_PATH", dir.path());
    std::env::set_var("XDG_CONFIG_HOME", dir.path().join("no-config"));
    let r = Registry::discover().unwrap();
    std::env::remove_var("AIPERF_PLUGIN_PATH");
    assert_eq!(r.get("endpoint", "custom").unwrap().package, "found-me");
}

#[test]
fn checked_in_schemas_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    for (file, current) in [
        (
            "plugins.schema.json",
            aiperf_plugins::manifest::plugins_schema(),
        ),
        (
            "categories.schema.json",
            aiperf_plugins::manifest::categories_schema(),
        ),
    ] {
        let path = root.join(file);
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == current,
            "{file} is stale: run `UPDATE_SCHEMAS=1 cargo test -p aiperf-plugins`"
        );
    }
}

#[test]
fn arbitrary_manifests_fail_cleanly() {
    let pieces = [
        "schema_version: '1.0'\n",
        "endpoint:\n",
        "  x:\n",
        "    implementation: a::B\n",
        "    metadata: {",
        "}",
        "ui:\n",
        "    priority: -3\n",
        "- ",
        ": ",
        "exec:./nope\n",
        "    class: c::D\n",
        "\t",
        "package: {name: p}\n",
    ];
    let mut x: u64 = 5;
    for _ in 0..2_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let text: String = (0..(x % 9))
            .map(|i| pieces[((x >> (i * 4)) % pieces.len() as u64) as usize])
            .collect();
        let mut r = Registry::builtin();
        if let Err(e) = r.load_plugins(&text, "fuzz.yaml", None, false) {
            assert!(e.to_string().contains("fuzz.yaml"), "{e}");
        }
    }
}
