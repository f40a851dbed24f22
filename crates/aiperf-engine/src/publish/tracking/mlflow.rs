//! A finished run recorded in MLflow over its REST API, as AIPerf 0.13's `MLflowDataExporter`
//! records it with MLflow's Python client:
//!
//! 1. the experiment by name (`experiments/get-by-name`, created when missing; a deleted one is
//!    refused, as `mlflow.set_experiment` does);
//! 2. with `--mlflow-parent-run-id`, the parent (`runs/get`): a missing parent gives a root run
//!    and a warning (AIPerf's fallback), a deleted one fails;
//! 3. `runs/create` with the tags `mlflow.start_run` adds (`mlflow.runName`, `mlflow.user`,
//!    `mlflow.source.*`, `mlflow.parentRunId`);
//! 4. `runs/log-batch`: the summary's statistics as metrics (`<tag>` for `avg`,
//!    `<tag>.<stat>` otherwise), AIPerf's params and tags, split within MLflow's limits;
//! 5. `mlflow_export.json` written to the artifact directory, then every artifact matching the
//!    globs and that file uploaded (`exports/` or `plots/`);
//! 6. `runs/update` to `FINISHED`, or `FAILED` when a step after the creation failed.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aiperf_config::ProfileConfig;
use aiperf_export::RunReport;
use bytes::Bytes;
use http::HeaderValue;
use indexmap::IndexMap;
use serde_json::{json, Value};

use super::artifacts::{self, ArtifactFile};
use super::http::{encode, Api, ApiError};
use super::payload::{batches, default_run_name, payload};

/// AIPerf's `MLflowDefaults.EXPORT_METADATA_FILE`.
pub(crate) const METADATA_FILE: &str = "mlflow_export.json";
const API: &str = "/api/2.0/mlflow";
const ARTIFACTS_API: &str = "/api/2.0/mlflow-artifacts/artifacts";

/// What was recorded.
#[derive(Debug)]
pub(crate) struct Recorded {
    pub run_id: String,
    pub run_name: String,
    pub metrics: usize,
    pub artifacts: usize,
}

/// Records the run; `Err` says why not (already without credentials).
pub(crate) async fn record(
    cfg: &ProfileConfig,
    rep: &RunReport,
    deadline: Instant,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Recorded, String> {
    let Some(m) = cfg.tracking.mlflow.as_ref() else {
        return Err("MLflow is not configured".into());
    };
    let insecure =
        env("MLFLOW_TRACKING_INSECURE_TLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let api = Api::new(&m.tracking_uri, auth(env), insecure, deadline)
        .await
        .map_err(|e| e.to_string())?;
    let experiment_id = experiment(&api, &m.experiment).await?;
    let parent = match &m.parent_run_id {
        Some(p) => parent(&api, p).await?,
        None => None,
    };
    let run_name = m
        .run_name
        .clone()
        .unwrap_or_else(|| default_run_name(&rep.benchmark_id));
    let user = user(env);
    let mut create_tags = vec![
        ("mlflow.runName".to_string(), run_name.clone()),
        ("mlflow.user".to_string(), user.clone()),
        ("mlflow.source.name".to_string(), "aiperf".to_string()),
        ("mlflow.source.type".to_string(), "LOCAL".to_string()),
    ];
    if let Some(p) = &parent {
        create_tags.push(("mlflow.parentRunId".to_string(), p.clone()));
    }
    let created = api
        .post_json(
            &format!("{API}/runs/create"),
            &json!({
                "experiment_id": experiment_id,
                "user_id": user,
                "start_time": now_ms(),
                "tags": kv(&create_tags),
                "run_name": run_name,
            }),
        )
        .await
        .map_err(|e| e.to_string())?;
    let info = &created["run"]["info"];
    let run_id = info["run_id"]
        .as_str()
        .or_else(|| info["run_uuid"].as_str())
        .ok_or("POST runs/create: the answer names no run_id")?
        .to_string();
    let artifact_uri = info["artifact_uri"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let run_name = info["run_name"].as_str().unwrap_or(&run_name).to_string();
    let logged = log_and_upload(
        &api,
        cfg,
        rep,
        &run_id,
        &run_name,
        &artifact_uri,
        parent.as_deref(),
    )
    .await;
    let status = if logged.is_ok() { "FINISHED" } else { "FAILED" };
    let ended = api
        .post_json(
            &format!("{API}/runs/update"),
            &json!({"run_id": run_id, "run_uuid": run_id, "status": status, "end_time": now_ms()}),
        )
        .await;
    let (metrics, artifacts) = logged?;
    ended.map_err(|e| e.to_string())?;
    Ok(Recorded {
        run_id,
        run_name,
        metrics,
        artifacts,
    })
}

/// `aiperf plot --mlflow-upload`: `files` (inside `dir`) added to an existing run as AIPerf's
/// `upload_artifacts_to_run` adds them (plots under `plots/`). Returns how many were uploaded.
pub(crate) async fn upload_to_run(
    tracking_uri: &str,
    run_id: &str,
    dir: &Path,
    files: &[std::path::PathBuf],
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<usize, String> {
    let base = aiperf_transport::BaseUrl::parse(tracking_uri)
        .map_err(|e| format!("--mlflow-tracking-uri: {e}"))?;
    let insecure =
        env("MLFLOW_TRACKING_INSECURE_TLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    let api = Api::new(&base, auth(env), insecure, deadline)
        .await
        .map_err(|e| e.to_string())?;
    let run = api
        .get_json(&format!("{API}/runs/get"), &[("run_id", run_id)])
        .await
        .map_err(|e| e.to_string())?;
    let uri = run["run"]["info"]["artifact_uri"]
        .as_str()
        .ok_or_else(|| format!("GET runs/get: run {run_id} names no artifact_uri"))?;
    let target = ArtifactTarget::parse(uri, &base)?;
    let mut uploaded = 0;
    for path in files {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        target
            .upload(
                &api,
                &ArtifactFile {
                    path: path.clone(),
                    rel,
                },
            )
            .await?;
        uploaded += 1;
    }
    Ok(uploaded)
}

/// Steps 4 and 5; returns the number of metrics and of uploaded files.
async fn log_and_upload(
    api: &Api,
    cfg: &ProfileConfig,
    rep: &RunReport,
    run_id: &str,
    run_name: &str,
    artifact_uri: &str,
    parent: Option<&str>,
) -> Result<(usize, usize), String> {
    let Some(m) = cfg.tracking.mlflow.as_ref() else {
        return Err("MLflow is not configured".into());
    };
    let payload = payload(cfg, rep);
    let ts = now_ms();
    for batch in batches(&payload, ts) {
        let mut body = batch;
        body["run_id"] = Value::from(run_id);
        api.post_json(&format!("{API}/runs/log-batch"), &body)
            .await
            .map_err(|e| e.to_string())?;
    }
    let dir = &cfg.artifact_dir;
    let files = artifacts::collect(dir, &m.artifact_globs, &[METADATA_FILE]);
    let target = ArtifactTarget::parse(artifact_uri, &m.tracking_uri)?;
    let mut uploaded: Vec<String> = files.iter().map(|f| f.rel.clone()).collect();
    uploaded.push(METADATA_FILE.to_string());
    let metadata = json!({
        "tracking_uri": m.tracking_uri.to_string(),
        "experiment": m.experiment,
        "run_id": run_id,
        "run_name": run_name,
        "benchmark_id": rep.benchmark_id,
        "parent_run_id": parent,
        "live_streaming": false,
        "reused_live_run": false,
        "metric_keys": sorted_keys(&payload.metrics),
        "param_keys": sorted_keys(&payload.params),
        "tag_keys": sorted_keys(&payload.tags),
        "uploaded_artifacts": uploaded,
        "exported_at_ns": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0),
    });
    write_metadata(dir, &metadata)?;
    let meta_file = ArtifactFile {
        path: dir.join(METADATA_FILE),
        rel: METADATA_FILE.to_string(),
    };
    for f in files.iter().chain(std::iter::once(&meta_file)) {
        target.upload(api, f).await?;
    }
    Ok((payload.metrics.len(), files.len() + 1))
}

/// Step 1: the experiment's id, the experiment created when it does not exist.
async fn experiment(api: &Api, name: &str) -> Result<String, String> {
    let by_name = format!("{API}/experiments/get-by-name");
    match api.get_json(&by_name, &[("experiment_name", name)]).await {
        Ok(v) => return existing_experiment(&v, name),
        Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => {}
        Err(e) => return Err(e.to_string()),
    }
    match api
        .post_json(
            &format!("{API}/experiments/create"),
            &json!({ "name": name }),
        )
        .await
    {
        Ok(v) => v["experiment_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "POST experiments/create: the answer names no experiment_id".into()),
        // Created by someone else in the meantime (MLflow's own client does the same).
        Err(e) if e.code() == Some("RESOURCE_ALREADY_EXISTS") => {
            let v = api
                .get_json(&by_name, &[("experiment_name", name)])
                .await
                .map_err(|e| e.to_string())?;
            existing_experiment(&v, name)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn existing_experiment(v: &Value, name: &str) -> Result<String, String> {
    let exp = &v["experiment"];
    if exp["lifecycle_stage"].as_str() == Some("deleted") {
        return Err(format!(
            "experiment '{name}' is deleted: restore it or delete it permanently, or pick another --mlflow-experiment"
        ));
    }
    exp["experiment_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "GET experiments/get-by-name: the answer names no experiment_id".into())
}

/// Step 2: the parent run id to nest under, `None` when it does not exist.
async fn parent(api: &Api, id: &str) -> Result<Option<String>, String> {
    match api
        .get_json(&format!("{API}/runs/get"), &[("run_id", id)])
        .await
    {
        Ok(v) if v["run"]["info"]["lifecycle_stage"].as_str() == Some("deleted") => Err(format!(
            "cannot start run under parent run with ID {id} because it is in the deleted state"
        )),
        Ok(_) => Ok(Some(id.to_string())),
        Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => {
            tracing::warn!(
                "MLflow: parent_run_id {id} not found; creating root MLflow run instead"
            );
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Where the run's artifacts go, from its `artifact_uri`.
enum ArtifactTarget {
    /// The tracking server's artifact proxy (`mlflow-artifacts:`): PUT under this path.
    Proxy(String),
    /// A directory on this machine (`file:` or a plain path), as MLflow's local repository.
    Local(std::path::PathBuf),
}

impl ArtifactTarget {
    fn parse(uri: &str, tracking: &aiperf_transport::BaseUrl) -> Result<Self, String> {
        if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
            // `mlflow-artifacts:/0/<run>/artifacts` or `mlflow-artifacts://host:port/0/...`.
            let path = match rest.strip_prefix("//") {
                Some(auth_path) => {
                    let (authority, path) = auth_path.split_once('/').unwrap_or((auth_path, ""));
                    if !authority.is_empty()
                        && !authority.eq_ignore_ascii_case(&tracking.authority())
                    {
                        return Err(format!(
                            "the run's artifact URI names another server ({authority}); only the tracking server's own artifact proxy is supported"
                        ));
                    }
                    path
                }
                None => rest,
            };
            let path = path.trim_matches('/');
            let mut p = format!("{ARTIFACTS_API}/{path}");
            while p.contains("//") {
                p = p.replace("//", "/");
            }
            return Ok(ArtifactTarget::Proxy(p));
        }
        if let Some(path) = uri.strip_prefix("file://") {
            return Ok(ArtifactTarget::Local(path.into()));
        }
        if let Some(path) = uri.strip_prefix("file:") {
            return Ok(ArtifactTarget::Local(path.into()));
        }
        if uri.starts_with('/') {
            return Ok(ArtifactTarget::Local(uri.into()));
        }
        let scheme = uri.split(':').next().unwrap_or(uri);
        Err(format!(
            "the run's artifact store '{scheme}:' needs MLflow's Python client; start the tracking server with --serve-artifacts (artifacts proxied as mlflow-artifacts:)"
        ))
    }

    async fn upload(&self, api: &Api, f: &ArtifactFile) -> Result<(), String> {
        let dir = artifacts::mlflow_dir(&f.rel);
        let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        match self {
            ArtifactTarget::Proxy(base) => {
                let bytes = tokio::fs::read(&f.path)
                    .await
                    .map_err(|e| format!("cannot read '{}': {e}", f.path.display()))?;
                let path = format!("{base}/{}", encode(&format!("{dir}/{name}"), true));
                api.put(&path, artifacts::content_type(name), Bytes::from(bytes))
                    .await
                    .map_err(|e: ApiError| e.to_string())
            }
            ArtifactTarget::Local(root) => {
                let to = root.join(&dir);
                std::fs::create_dir_all(&to)
                    .and_then(|_| std::fs::copy(&f.path, to.join(name)).map(|_| ()))
                    .map_err(|e| {
                        format!(
                            "cannot copy '{}' into '{}': {e}",
                            f.path.display(),
                            to.display()
                        )
                    })
            }
        }
    }
}

/// `mlflow_export.json`, written through a `.tmp` file as AIPerf does (2-space indent).
fn write_metadata(dir: &Path, v: &Value) -> Result<(), String> {
    let path = dir.join(METADATA_FILE);
    let tmp = dir.join(format!("{METADATA_FILE}.tmp"));
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write '{}': {e}", path.display())
        })
}

/// MLflow's clients: `MLFLOW_TRACKING_USERNAME` and `_PASSWORD` as Basic auth, else
/// `MLFLOW_TRACKING_TOKEN` as a Bearer token; neither: the URL's userinfo, if any.
pub(crate) fn auth(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Option<HeaderValue> {
    use base64::Engine;
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    let value = match (
        set("MLFLOW_TRACKING_USERNAME"),
        set("MLFLOW_TRACKING_PASSWORD"),
    ) {
        (Some(u), Some(p)) => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        ),
        _ => format!("Bearer {}", set("MLFLOW_TRACKING_TOKEN")?),
    };
    let mut v = HeaderValue::from_str(&value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Python's `getpass.getuser()`, as MLflow's `mlflow.user` tag.
fn user(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn kv(pairs: &[(String, String)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

fn sorted_keys<V>(m: &IndexMap<String, V>) -> Vec<&String> {
    let mut k: Vec<&String> = m.keys().collect();
    k.sort();
    k
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_mlflows_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let basic = auth(&env(&[
            ("MLFLOW_TRACKING_USERNAME", "u"),
            ("MLFLOW_TRACKING_PASSWORD", "p"),
            ("MLFLOW_TRACKING_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(basic.to_str().unwrap(), "Basic dTpw");
        assert!(basic.is_sensitive());
        let bearer = auth(&env(&[
            ("MLFLOW_TRACKING_USERNAME", "u"),
            ("MLFLOW_TRACKING_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(bearer.to_str().unwrap(), "Bearer t");
        assert!(auth(&env(&[])).is_none());
    }

    #[test]
    fn artifact_uris_resolve_as_mlflows_repositories() {
        let t = aiperf_transport::BaseUrl::parse("http://127.0.0.1:5000").unwrap();
        let proxy = |u: &str| match ArtifactTarget::parse(u, &t) {
            Ok(ArtifactTarget::Proxy(p)) => p,
            Ok(ArtifactTarget::Local(p)) => panic!("local {p:?}"),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            proxy("mlflow-artifacts:/1/abc/artifacts"),
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        assert_eq!(
            proxy("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts"),
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
        );
        assert!(ArtifactTarget::parse("mlflow-artifacts://other:1/1/a", &t).is_err());
        assert!(
            matches!(ArtifactTarget::parse("file:///tmp/x", &t), Ok(ArtifactTarget::Local(p)) if p == Path::new("/tmp/x"))
        );
        let e = ArtifactTarget::parse("s3://bucket/1/a", &t).err().unwrap();
        assert!(e.contains("'s3:'"), "{e}");
    }
}
