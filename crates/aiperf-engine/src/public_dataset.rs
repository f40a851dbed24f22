//! `--public-dataset`: the dataset's files fetched from the Hugging Face Hub (into its standard
//! cache; nothing is downloaded twice) before the dataset is prepared, then read into
//! conversations as AIPerf's public loaders do. Spec-Bench, which AIPerf downloads from
//! GitHub, is fetched here over plain HTTP(S) into AIPerf's own cache file.

use aiperf_config::ProfileConfig;
use aiperf_core::Conversation;
use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::loader::LoadContext;
use aiperf_dataset::public::{self, Fetched, PublicDataset};
use aiperf_dataset::rng::Rng;
use aiperf_dataset::TextTokenizer;
use aiperf_hub::HubConfig;
use anyhow::anyhow;

/// The chosen dataset; `weka_hf` reads the repo `--hf-weka-dataset` names.
fn chosen(cfg: &ProfileConfig) -> anyhow::Result<Option<PublicDataset<'_>>> {
    let Some(choice) = &cfg.public_dataset else {
        return Ok(None);
    };
    let ds = public::find(&choice.name)
        .ok_or_else(|| anyhow!("--public-dataset {}: not a public dataset", choice.name))?;
    Ok(Some(match &choice.weka_repo {
        Some(repo) => PublicDataset { repo, ..*ds },
        None => *ds,
    }))
}

/// The public dataset's local files, downloaded when not cached; `None` without
/// `--public-dataset`. Blocking: call it from a blocking thread.
pub fn fetch(cfg: &ProfileConfig, hub: &HubConfig) -> anyhow::Result<Option<Fetched>> {
    let Some(ds) = chosen(cfg)? else {
        return Ok(None);
    };
    let subset = cfg
        .public_dataset
        .as_ref()
        .and_then(|c| c.subset.as_deref());
    // AIPerf's `_max_conversations`: the profiling request count, else the dataset's entries.
    let limit = cfg
        .request_count
        .and_then(|n| usize::try_from(n).ok())
        .or(cfg.conversation.conversation_num);
    let started = std::time::Instant::now();
    let fetched = match public::fetch(hub, &ds, subset, limit) {
        Err(public::PublicError::NotDownloaded { url, dest, .. }) if !hub.offline => {
            tracing::info!("downloading {} from {url}", ds.name);
            download(&url, &dest, hub.download_timeout)
                .map_err(|e| anyhow!("--public-dataset {}: {url}: {e}", ds.name))?;
            public::fetch(hub, &ds, subset, limit)?
        }
        r => r?,
    };
    tracing::info!(
        "public dataset {}: {} file(s) of {} (commit {}, split {}) ready in {:.1} s",
        ds.name,
        fetched.files.len(),
        ds.repo,
        fetched.commit,
        ds.split,
        started.elapsed().as_secs_f64()
    );
    Ok(Some(fetched))
}

/// The conversations of the fetched public dataset, `--osl` sampled for turns that give no
/// output length (as for dataset files).
pub fn conversations(
    cfg: &ProfileConfig,
    fetched: Option<&Fetched>,
    tokenizer: &TextTokenizer,
    corpus: &Corpus,
    seed: u64,
) -> anyhow::Result<Vec<Conversation>> {
    let (Some(ds), Some(fetched)) = (chosen(cfg)?, fetched) else {
        return Err(anyhow!("--public-dataset: its files were not fetched"));
    };
    let ctx = LoadContext {
        tokenizer,
        corpus,
        seed,
        block_size: None,
        num_conversations: cfg.conversation.conversation_num,
        osl_mean: cfg.osl_mean,
        replay: Default::default(),
        synthesis: cfg.synthesis.clone(),
        agentic: cfg.agentic.clone(),
    };
    let opts = public::LoadOptions {
        exgentic_filters: cfg
            .public_dataset
            .as_ref()
            .map(|c| c.exgentic_filters.clone())
            .unwrap_or_default(),
        fixed_schedule: matches!(cfg.load, aiperf_config::LoadMode::FixedSchedule { .. }),
    };
    let mut loaded = public::load(&ds, fetched, &ctx, &opts)?;
    if let Some(m) = cfg.osl_mean {
        let mut osl = Rng::derive(seed, "composer.turn.max_tokens");
        for t in loaded.iter_mut().flat_map(|c| c.turns.iter_mut()) {
            if t.max_tokens.is_none() {
                t.max_tokens = Some(osl.positive_normal_integer(m, cfg.osl_stddev));
            }
        }
    }
    Ok(loaded)
}

/// GETs `url` (no redirects: GitHub's raw URLs answer directly) and writes the body to `dest`
/// through a temporary file, so an interrupted download leaves no partial cache. Blocking.
fn download(url: &str, dest: &std::path::Path, timeout: std::time::Duration) -> Result<(), String> {
    use aiperf_transport::{BaseUrl, Cancel, ClientOptions, ConnChoice, HttpClient, RequestSpec};
    use http::{HeaderMap, HeaderName, HeaderValue, Method};
    let base = BaseUrl::parse(url).map_err(|e| e.to_string())?;
    let path = base.join("");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the download runtime: {e}"))?;
    let body = rt.block_on(async {
        let clock = aiperf_core::Clock::start();
        let client = HttpClient::with_options(&base, clock, &ClientOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let headers = HeaderMap::new();
        let spec = RequestSpec {
            method: Method::GET,
            path: &path,
            headers: &headers,
            extra_headers: [
                (
                    HeaderName::from_static("accept"),
                    HeaderValue::from_static("*/*"),
                ),
                (
                    HeaderName::from_static("user-agent"),
                    HeaderValue::from_static("aiperf"),
                ),
            ],
            body: bytes::Bytes::new(),
            conn: ConnChoice::Fresh,
            watch: None,
        };
        let deadline = std::time::Instant::now() + timeout;
        let ex = client
            .send(spec, deadline, timeout.as_secs_f64(), Cancel::default())
            .await;
        if let Some(e) = ex.error {
            return Err(e.to_string());
        }
        match ex.status {
            Some(s) if (200..300).contains(&s) => {}
            Some(s) => return Err(format!("HTTP {s}")),
            None => return Err("no response".into()),
        }
        Ok(ex
            .chunks
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect::<Vec<u8>>())
    })?;
    let dir = dest.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dest.with_extension("jsonl.part");
    std::fs::write(&tmp, &body).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dest).map_err(|e| format!("{}: {e}", dest.display()))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};

    /// One GET answered on loopback with `status` and `body`, as raw.githubusercontent.com
    /// answers (`Connection: close`).
    fn serve_once(status: &'static str, body: &'static [u8]) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hemingkx/Spec-Bench/x/question.jsonl",
            listener.local_addr().unwrap()
        );
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut s = stream;
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(body).unwrap();
        });
        url
    }

    #[test]
    fn spec_bench_is_downloaded_into_the_cache_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(".cache/aiperf/datasets/spec_bench.jsonl");
        let body = b"{\"turns\": [\"hi\"]}\n";
        let url = serve_once("200 OK", body);
        super::download(&url, &dest, std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);

        let dest2 = dir.path().join("missing.jsonl");
        let url = serve_once("404 Not Found", b"");
        let e = super::download(&url, &dest2, std::time::Duration::from_secs(10)).unwrap_err();
        assert_eq!(e, "HTTP 404");
        assert!(!dest2.exists());
    }
}
