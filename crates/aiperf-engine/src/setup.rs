//! Set-up stage: everything between a validated config and the first request. Reaches every
//! server before anything is created on disk, so a typo in `--url` leaves no artifact behind;
//! then creates the artifact directory, `inputs.json`, the record writer and the accumulator.

use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_export::merge_records::{Header, MergeRecordWriter, MERGE_RECORDS_FILE};
use aiperf_export::outputs::OutputsWriter;
use aiperf_export::raw::RawWriter;
use aiperf_export::{inputs, ExportFiles, RecordWriter, INPUTS_FILE, OUTPUTS_FILE, RECORDS_FILE};
use aiperf_metrics::spill::Spill;
use aiperf_metrics::{Accumulator, Applicability};
use aiperf_transport::{ClientOptions, HttpClient};
use anyhow::Context;

use crate::prepare::Prepared;
use crate::process::Writers;

/// One client per `--url` (host names resolved now, so DNS stays out of the measured requests),
/// each probed with one connection unless `--wait-for-model-*` asks to wait for the server
/// first ([`reach`] then probes after the dataset is ready). Runs before the dataset is
/// prepared, so a wrong `--url` fails in milliseconds, not after tokenizing.
pub(crate) async fn clients(cfg: &ProfileConfig, clock: Clock) -> anyhow::Result<Vec<HttpClient>> {
    let mut clients = Vec::with_capacity(cfg.urls.len());
    for url in &cfg.urls {
        let opts = ClientOptions {
            http2: cfg.http2,
            insecure: cfg.insecure,
            ..Default::default()
        };
        let client = HttpClient::with_options(url, clock, &opts)
            .await
            .map_err(|e| anyhow::anyhow!("--url {url}: {e}"))?;
        clients.push(client);
    }
    if cfg.wait_for_model.is_none() {
        probe(cfg, &clients).await?;
    }
    Ok(clients)
}

/// `--wait-for-model-*` (which may send a prepared request), then the connection probe.
pub(crate) async fn reach(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    clients: &[HttpClient],
) -> anyhow::Result<()> {
    if let Some(wait) = &cfg.wait_for_model {
        crate::readiness::wait_for_model(cfg, prepared, wait, clients).await?;
        probe(cfg, clients).await?;
    }
    Ok(())
}

/// Opens one connection to every server; the error is one line with a hint when there is one.
async fn probe(cfg: &ProfileConfig, clients: &[HttpClient]) -> anyhow::Result<()> {
    for (client, url) in clients.iter().zip(&cfg.urls) {
        client.probe().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the server at {url}: {e}{}",
                e.hint(cfg.insecure)
            )
        })?;
    }
    Ok(())
}

/// Which metrics apply to this run.
pub(crate) fn applicability(cfg: &ProfileConfig, prepared: &Prepared) -> Applicability {
    Applicability {
        streaming: cfg.streaming,
        produces_tokens: prepared.meta.produces_tokens,
        tokenizes_input: prepared.meta.tokenizes_input,
        goodput: cfg.goodput.is_some(),
        usage_diff: !cfg.use_server_token_count,
        show_experimental: std::env::var_os("AIPERF_DEV_SHOW_EXPERIMENTAL_METRICS")
            .is_some_and(|v| v != "0"),
        accuracy: cfg.accuracy.is_some(),
    }
}

/// The artifact directory with `inputs.json` written, the per-record writers and the
/// accumulator the record processor fills.
pub(crate) fn open_artifacts(
    cfg: &ProfileConfig,
    prepared: &Prepared,
    run: Applicability,
    clock: Clock,
) -> anyhow::Result<Opened> {
    std::fs::create_dir_all(&cfg.artifact_dir).with_context(|| {
        format!(
            "cannot create artifact directory '{}'",
            cfg.artifact_dir.display()
        )
    })?;
    let files = export_files(cfg);
    move_aside_files(&cfg.artifact_dir, &files.all())?;
    write_inputs(cfg, prepared)?;
    let mut accumulator = Accumulator::new(run);
    // Values past a small in-memory tail go to an unlinked file beside the artifacts, so memory
    // stays flat on long runs; without one (e.g. a filesystem lacking O_TMPFILE) they stay in RAM.
    match Spill::create_in(&cfg.artifact_dir) {
        Ok(spill) => accumulator = accumulator.with_spill(spill),
        Err(e) => tracing::warn!(
            "cannot create a metric spill file in '{}' ({e}); keeping every value in memory",
            cfg.artifact_dir.display()
        ),
    }
    if let Some(g) = &cfg.goodput {
        accumulator = accumulator.with_goodput(g.clone());
    }
    // Replay fidelity (`replay_sched_*`): how late each request left against its timestamp.
    if matches!(cfg.load, aiperf_config::LoadMode::FixedSchedule { .. }) {
        accumulator = accumulator.with_replay_fidelity();
    }
    // `--export-level summary` writes no per-request JSONL (the merge records are separate).
    let records = if cfg.export_level.writes_records() {
        Some(RecordWriter::create(
            &cfg.artifact_dir.join(&files.records),
            run,
        )?)
    } else {
        None
    };
    let raw = if cfg.export_level.writes_raw() {
        Some(RawWriter::create(&cfg.artifact_dir.join(&files.raw))?)
    } else {
        None
    };
    let outputs = if cfg.output.export_outputs_json {
        Some((
            OutputsWriter::create(&cfg.artifact_dir)?,
            cfg.artifact_dir.join(OUTPUTS_FILE),
        ))
    } else {
        None
    };
    let (merge, dataset_hash) = if cfg.merge_records {
        let header = Header {
            clock_wall_start_ns: clock.to_wall_ns(0),
            shard_index: cfg.shard.index,
        };
        let writer = MergeRecordWriter::create(&cfg.artifact_dir.join(MERGE_RECORDS_FILE), header)?;
        let hash = file_sha256(&cfg.artifact_dir.join(INPUTS_FILE))?;
        (Some(writer), Some(hash))
    } else {
        (None, None)
    };
    Ok(Opened {
        writers: Writers {
            raw,
            outputs,
            http_trace: cfg.output.export_http_trace,
            request_headers: redacted_headers(&prepared.headers),
            ..Writers::new(records, merge)
        },
        accumulator,
        dataset_hash,
    })
}

/// The names of this run's export files (`--profile-export-prefix`).
pub(crate) fn export_files(cfg: &ProfileConfig) -> ExportFiles {
    ExportFiles::new(cfg.output.prefix.as_deref())
}

/// Header names whose values are secrets whatever the header map says.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
];

/// The headers every request carries, as raw records show them: secrets `<redacted>`.
fn redacted_headers(headers: &http::HeaderMap) -> indexmap::IndexMap<String, String> {
    headers
        .iter()
        .map(|(n, v)| {
            let secret = v.is_sensitive() || SECRET_HEADERS.contains(&n.as_str());
            let value = if secret {
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (n.as_str().to_string(), value)
        })
        .collect()
}

/// What [`open_artifacts`] opened.
pub(crate) struct Opened {
    pub writers: Writers,
    pub accumulator: Accumulator,
    /// SHA-256 of `inputs.json` when the run writes merge records: shards of one plan must have
    /// sent from the same dataset.
    pub dataset_hash: Option<String>,
}

fn file_sha256(path: &std::path::Path) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("cannot read '{}'", path.display()))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Where files an earlier run left in the artifact directory are moved (replacing any older
/// ones), so a run's directory holds only its own results.
pub const PREVIOUS_RUN_DIR: &str = "previous_run";

/// The files a run writes into its artifact directory (the log aside: it is rewritten from the
/// start by the binary).
const RUN_FILES: [&str; 21] = [
    crate::publish::MLFLOW_EXPORT_FILE,
    crate::network::NETWORK_LATENCY_JSONL_FILE,
    aiperf_export::raw::RAW_FILE,
    OUTPUTS_FILE,
    aiperf_export::merge_records::MERGE_RECORDS_FILE,
    crate::shard::MANIFEST,
    crate::status::STATUS_FILE,
    aiperf_export::JSON_FILE,
    aiperf_export::CSV_FILE,
    RECORDS_FILE,
    INPUTS_FILE,
    aiperf_export::CONSOLE_FILE,
    aiperf_export::timeslices::JSON_FILE,
    aiperf_export::timeslices::CSV_FILE,
    aiperf_export::server_metrics::SERVER_METRICS_JSON_FILE,
    aiperf_export::server_metrics::SERVER_METRICS_CSV_FILE,
    aiperf_export::server_metrics::SERVER_METRICS_JSONL_FILE,
    aiperf_export::server_metrics_parquet::SERVER_METRICS_PARQUET_FILE,
    aiperf_export::gpu_telemetry::GPU_TELEMETRY_JSON_FILE,
    aiperf_export::gpu_telemetry::GPU_TELEMETRY_CSV_FILE,
    aiperf_export::gpu_telemetry::GPU_TELEMETRY_JSONL_FILE,
];

/// Moves what an earlier run left in `dir` (its artifacts and any `.tmp` leftovers) into
/// `dir/previous_run/`, and says so in one line; other files are left alone.
pub(crate) fn move_aside_earlier_run(dir: &std::path::Path) -> anyhow::Result<()> {
    move_aside_files(dir, &[])
}

/// [`move_aside_earlier_run`], also moving the files named in `more` (a prefixed run's names).
pub(crate) fn move_aside_files(dir: &std::path::Path, more: &[&str]) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read artifact directory '{}'", dir.display()))?;
    let stale: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            RUN_FILES.contains(&name) || more.contains(&name) || name.ends_with(".tmp")
        })
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    let aside = dir.join(PREVIOUS_RUN_DIR);
    if aside.is_dir() {
        std::fs::remove_dir_all(&aside)
            .with_context(|| format!("cannot clear '{}'", aside.display()))?;
    }
    std::fs::create_dir_all(&aside)
        .with_context(|| format!("cannot create '{}'", aside.display()))?;
    for p in &stale {
        if let Some(name) = p.file_name() {
            std::fs::rename(p, aside.join(name))
                .with_context(|| format!("cannot move '{}' aside", p.display()))?;
        }
    }
    tracing::warn!(
        "'{}' held {} file(s) of an earlier run; moved them to '{}'",
        dir.display(),
        stale.len(),
        aside.display()
    );
    Ok(())
}

/// `inputs.json`: the exact body of every dataset entry (first model's bodies).
fn write_inputs(cfg: &ProfileConfig, prepared: &Prepared) -> anyhow::Result<()> {
    let sessions: Vec<(&str, Vec<&[u8]>)> = prepared
        .conversations
        .iter()
        .zip(&prepared.turns[0])
        .map(|(c, turns)| {
            (
                c.session_id.as_str(),
                turns.iter().map(|t| t.body.as_ref()).collect(),
            )
        })
        .collect();
    inputs::write(&cfg.artifact_dir.join(INPUTS_FILE), &sessions)?;
    Ok(())
}

/// The dashboard's title: models, endpoint type and URLs.
pub(crate) fn title(cfg: &ProfileConfig) -> String {
    format!(
        "{} | {} | {}",
        cfg.models.join(","),
        cfg.endpoint_type,
        cfg.urls
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &std::path::Path, text: &str) {
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn an_earlier_runs_files_are_moved_aside_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join(aiperf_export::JSON_FILE), "old summary");
        touch(&d.join(RECORDS_FILE), "old records");
        touch(&d.join(aiperf_export::timeslices::CSV_FILE), "old slices");
        touch(&d.join("profile_export_aiperf.tmp"), "half");
        touch(&d.join("notes.txt"), "mine");
        move_aside_earlier_run(d).unwrap();
        let aside = d.join(PREVIOUS_RUN_DIR);
        let mut moved: Vec<String> = std::fs::read_dir(&aside)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        moved.sort();
        assert_eq!(
            moved,
            [
                "profile_export.jsonl",
                "profile_export_aiperf.json",
                "profile_export_aiperf.tmp",
                "profile_export_aiperf_timeslices.csv"
            ]
        );
        assert!(!d.join(aiperf_export::JSON_FILE).exists());
        assert_eq!(
            std::fs::read_to_string(d.join("notes.txt")).unwrap(),
            "mine"
        );

        // A clean directory is left as it is; the next stale run replaces the older one.
        move_aside_earlier_run(d).unwrap();
        assert!(aside.join(RECORDS_FILE).is_file());
        touch(&d.join(INPUTS_FILE), "newer");
        move_aside_earlier_run(d).unwrap();
        assert!(
            !aside.join(RECORDS_FILE).exists(),
            "older generation dropped"
        );
        assert_eq!(
            std::fs::read_to_string(aside.join(INPUTS_FILE)).unwrap(),
            "newer"
        );
    }
}
