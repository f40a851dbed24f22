//! Prometheus pages read beside the phases, off the request path: each server's `/metrics`
//! (`--server-metrics`, on by default) and each DCGM exporter's (`--gpu-telemetry`), every
//! ~333 ms from just before the first phase until just after the last.
//!
//! Every endpoint has its own task and HTTP client, so a slow or dead page delays nothing else:
//! a scrape that takes longer than its timeout is a failed fetch, an endpoint that is not
//! reachable at start is skipped with one line, and one whose page keeps failing to parse is
//! dropped with a warning.

use std::time::Duration;

use aiperf_config::resolve::GpuSource;
use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_telemetry::{parse, Scrape};
use aiperf_transport::{BaseUrl, Cancel, ClientOptions, ConnChoice, HttpClient, RequestSpec};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tokio::sync::watch;

/// AIPerf's collection interval (`AIPERF_SERVER_METRICS_COLLECTION_INTERVAL`).
const INTERVAL: Duration = Duration::from_millis(333);
/// Longest wait for one page: a slower endpoint counts a failed fetch and is asked again.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Pages in a row that do not parse before an endpoint is dropped.
const PARSE_FAILURES_TO_DROP: u32 = 5;
/// Scrapes kept per endpoint (about 3.7 hours at 333 ms); later ones thin the middle out.
const MAX_SCRAPES: usize = 40_000;
/// The DCGM exporter's usual ports, tried quietly on every run (AIPerf's defaults).
pub const DCGM_DEFAULTS: [&str; 2] = [
    "http://localhost:9400/metrics",
    "http://localhost:9401/metrics",
];
/// Where TensorRT-LLM's `trtllm-serve` puts its Prometheus page when `/metrics` is its JSON
/// iteration statistics.
const TRTLLM_PROMETHEUS_PATH: &str = "/prometheus/metrics";

/// What one endpoint gave over the run.
#[derive(Debug)]
pub struct Collected {
    /// The page's URL, credentials left out.
    pub url: String,
    pub scrapes: Vec<Scrape>,
    /// How long each of `scrapes` took to fetch (ns), index for index.
    pub latencies_ns: Vec<u64>,
    pub fetches: u64,
    pub failed_fetches: u64,
    /// Sum of fetch latencies of the successful fetches (ns).
    pub latency_ns: u64,
    /// Why the endpoint stopped being read before the end, if it did.
    pub dropped: Option<String>,
}

/// The running scrapers; [`Scrapers::finish`] takes the final scrape and returns everything.
/// Scrape times are wall-clock ns, like the profiling window they are compared with.
pub struct Scrapers {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Collected>>,
}

/// A page to read and whether the user named it (a named page that does not answer is
/// warned about; a default one is skipped quietly).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: String,
    pub explicit: bool,
}

/// Called with every page that parsed (its URL, wall-clock time and content): how the
/// dashboard's GPU panel follows the GPU pages while the run goes on.
pub type OnPage = std::sync::Arc<dyn Fn(&str, u64, &aiperf_telemetry::Page) + Send + Sync>;

/// Which pages, for log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ServerMetrics,
    Gpu,
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::ServerMetrics => "--server-metrics",
            Kind::Gpu => "--gpu-telemetry",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::ServerMetrics => "server metrics",
            Kind::Gpu => "GPU telemetry",
        }
    }
}

struct Endpoint {
    url: String,
    path: String,
    client: HttpClient,
}

fn push_unique(out: &mut Vec<Target>, url: String, explicit: bool) {
    if !out.iter().any(|t| t.url == url) {
        out.push(Target { url, explicit });
    }
}

/// `scheme://host:port/metrics` of every `--url` (same host and port, AIPerf's rule) and the
/// extra `--server-metrics` URLs, without duplicates; none when collection is off.
pub fn server_targets(cfg: &ProfileConfig) -> Vec<Target> {
    let mut out = Vec::new();
    if !cfg.server_metrics.enabled {
        return out;
    }
    for u in &cfg.urls {
        let shown = u.to_string();
        let scheme = shown.split("://").next().unwrap_or("http");
        push_unique(
            &mut out,
            format!("{scheme}://{}/metrics", u.authority()),
            false,
        );
    }
    for extra in &cfg.server_metrics.extra_urls {
        push_unique(&mut out, extra.clone(), true);
    }
    out
}

/// The DCGM exporter pages: the two default ports, tried quietly, and the URLs given to
/// `--gpu-telemetry`; none when telemetry is off or comes from a local library.
pub fn gpu_targets(cfg: &ProfileConfig) -> Vec<Target> {
    let mut out = Vec::new();
    let GpuSource::Dcgm { urls } = &cfg.gpu_telemetry.source else {
        return out;
    };
    if !cfg.gpu_telemetry.enabled {
        return out;
    }
    for u in urls {
        push_unique(&mut out, u.clone(), true);
    }
    for d in DCGM_DEFAULTS {
        push_unique(&mut out, d.to_string(), false);
    }
    out
}

async fn fetch(ep: &Endpoint, clock: Clock) -> Result<(String, u64), String> {
    let headers = HeaderMap::new();
    let spec = RequestSpec {
        method: Method::GET,
        path: &ep.path,
        headers: &headers,
        extra_headers: [
            (
                HeaderName::from_static("accept"),
                HeaderValue::from_static("text/plain;version=0.0.4"),
            ),
            (
                HeaderName::from_static("x-request-id"),
                HeaderValue::from_static("aiperf-server-metrics"),
            ),
        ],
        body: bytes::Bytes::new(),
        conn: ConnChoice::Pooled,
        watch: None,
    };
    let t0 = clock.now_ns();
    let deadline = std::time::Instant::now() + FETCH_TIMEOUT;
    let ex = ep
        .client
        .send(
            spec,
            deadline,
            FETCH_TIMEOUT.as_secs_f64(),
            Cancel::default(),
        )
        .await;
    if let Some(e) = ex.error {
        return Err(e.to_string());
    }
    match ex.status {
        Some(s) if (200..300).contains(&s) => {}
        Some(s) => return Err(format!("HTTP {s}")),
        None => return Err("no response".into()),
    }
    let mut body = Vec::new();
    for c in &ex.chunks {
        body.extend_from_slice(&c.data);
    }
    let text = String::from_utf8(body).map_err(|_| "the page is not UTF-8".to_string())?;
    Ok((text, clock.now_ns().saturating_sub(t0)))
}

/// True when a page is JSON rather than Prometheus text (TensorRT-LLM's `/metrics`).
fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().as_bytes().first(), Some(b'[' | b'{'))
}

/// Connects to `target` and reads its page once. A `/metrics` that answers JSON is
/// TensorRT-LLM's iteration statistics: its Prometheus page is read instead.
async fn probe(
    target: &Target,
    insecure: bool,
    clock: Clock,
) -> Result<(Endpoint, Scrape, u64), String> {
    let opts = ClientOptions {
        insecure,
        ..Default::default()
    };
    let base = BaseUrl::parse(&target.url).map_err(|e| format!("{}: {e}", target.url))?;
    let client = HttpClient::with_options(&base, clock, &opts)
        .await
        .map_err(|e| format!("{}: {e}", target.url))?;
    let mut ep = Endpoint {
        url: base.to_string(),
        path: base.join(""),
        client,
    };
    let (mut text, mut lat) = fetch(&ep, clock)
        .await
        .map_err(|e| format!("{}: {e}", ep.url))?;
    if looks_like_json(&text) && ep.path.ends_with("/metrics") {
        let (scheme, _) = ep.url.split_once("://").unwrap_or(("http", ""));
        ep.url = format!("{scheme}://{}{TRTLLM_PROMETHEUS_PATH}", base.authority());
        ep.path = TRTLLM_PROMETHEUS_PATH.to_string();
        (text, lat) = fetch(&ep, clock)
            .await
            .map_err(|e| format!("{}: /metrics answers JSON and {}: {e}", target.url, ep.url))?;
    }
    let page = parse(&text).map_err(|e| format!("{}: {e}", ep.url))?;
    let first = Scrape {
        t_ns: clock.to_wall_ns(clock.now_ns()),
        page,
    };
    Ok((ep, first, lat))
}

/// Opens a client per target and reads each page once; targets that answer with a page that
/// parses start being scraped. `None` when nothing answered.
pub async fn start(
    targets: Vec<Target>,
    kind: Kind,
    insecure: bool,
    clock: Clock,
    on_page: Option<OnPage>,
) -> Option<Scrapers> {
    if targets.is_empty() {
        return None;
    }
    let mut set: tokio::task::JoinSet<_> = targets
        .into_iter()
        .map(|t| async move { (probe(&t, insecure, clock).await, t.explicit) })
        .collect();
    let (stop, watcher) = watch::channel(false);
    let mut tasks = Vec::new();
    while let Some(p) = set.join_next().await {
        match p {
            Ok((Ok((ep, first, lat)), _)) => {
                if let Some(f) = &on_page {
                    f(&ep.url, first.t_ns, &first.page);
                }
                let reader = Reader {
                    ep,
                    kind,
                    clock,
                    on_page: on_page.clone(),
                };
                tasks.push(tokio::spawn(run(reader, first, lat, watcher.clone())));
            }
            Ok((Err(e), true)) => tracing::warn!("{}: {e}; skipped", kind.flag()),
            // A server without a metrics page is common: one quiet line, no warning.
            Ok((Err(e), false)) => tracing::info!("{}: {e}; skipped", kind.what()),
            Err(_) => {}
        }
    }
    (!tasks.is_empty()).then_some(Scrapers { stop, tasks })
}

/// One endpoint's scrape task: where to read, and who else wants each page.
struct Reader {
    ep: Endpoint,
    kind: Kind,
    clock: Clock,
    on_page: Option<OnPage>,
}

async fn run(
    reader: Reader,
    first: Scrape,
    first_latency: u64,
    mut stop: watch::Receiver<bool>,
) -> Collected {
    let Reader {
        ep,
        kind,
        clock,
        on_page,
    } = reader;
    let mut c = Collected {
        url: ep.url.clone(),
        scrapes: vec![first],
        latencies_ns: vec![first_latency],
        fetches: 1,
        failed_fetches: 0,
        latency_ns: first_latency,
        dropped: None,
    };
    let mut bad_pages = 0u32;
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => false,
            _ = stop.changed() => true,
        };
        c.fetches += 1;
        match fetch(&ep, clock).await {
            Ok((text, lat)) => match parse(&text) {
                Ok(page) => {
                    bad_pages = 0;
                    c.latency_ns += lat;
                    let t_ns = clock.to_wall_ns(clock.now_ns());
                    if let Some(f) = &on_page {
                        f(&ep.url, t_ns, &page);
                    }
                    c.keep(Scrape { t_ns, page }, lat);
                }
                Err(e) => {
                    c.failed_fetches += 1;
                    bad_pages += 1;
                    if bad_pages >= PARSE_FAILURES_TO_DROP {
                        let why = format!(
                            "{PARSE_FAILURES_TO_DROP} pages in a row did not parse (last: {e})"
                        );
                        tracing::warn!("{}: {} dropped: {why}", kind.what(), ep.url);
                        c.dropped = Some(why);
                        return c;
                    }
                }
            },
            Err(_) => c.failed_fetches += 1,
        }
        if stopping || *stop.borrow() {
            return c;
        }
    }
}

impl Collected {
    /// Appends a scrape; past [`MAX_SCRAPES`], every other scrape of the older half goes (the
    /// first, the baseline, stays).
    fn keep(&mut self, s: Scrape, latency_ns: u64) {
        if self.scrapes.len() >= MAX_SCRAPES {
            thin(&mut self.scrapes);
            thin(&mut self.latencies_ns);
        }
        self.scrapes.push(s);
        self.latencies_ns.push(latency_ns);
    }
}

/// Drops every other element of the older half, keeping the first.
fn thin<T>(v: &mut Vec<T>) {
    let half = v.len() / 2;
    let mut i = 0usize;
    v.retain(|_| {
        i += 1;
        i == 1 || i > half || i.is_multiple_of(2)
    });
}

impl Scrapers {
    /// Takes each endpoint's final scrape and returns what was collected.
    pub async fn finish(self) -> Vec<Collected> {
        let _ = self.stop.send(true);
        let mut out = Vec::with_capacity(self.tasks.len());
        for t in self.tasks {
            if let Ok(c) = t.await {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(t: u64) -> Scrape {
        Scrape {
            t_ns: t,
            page: parse("a 1\n").unwrap(),
        }
    }

    #[test]
    fn thinning_keeps_the_baseline_and_the_recent_half() {
        let mut c = Collected {
            url: String::new(),
            scrapes: (0..MAX_SCRAPES as u64).map(scrape).collect(),
            latencies_ns: (0..MAX_SCRAPES as u64).collect(),
            fetches: 0,
            failed_fetches: 0,
            latency_ns: 0,
            dropped: None,
        };
        c.keep(scrape(u64::MAX), u64::MAX);
        assert_eq!(c.scrapes.len(), c.latencies_ns.len());
        // Latencies are thinned with their scrapes.
        assert!(c
            .scrapes
            .iter()
            .zip(&c.latencies_ns)
            .all(|(s, l)| s.t_ns == *l));
        let v = c.scrapes;
        assert!(v.len() < MAX_SCRAPES);
        assert_eq!(v[0].t_ns, 0);
        assert_eq!(v.last().unwrap().t_ns, u64::MAX);
        // The newest half is kept whole.
        let tail: Vec<u64> = v.iter().rev().skip(1).take(10).map(|s| s.t_ns).collect();
        assert_eq!(tail[0], MAX_SCRAPES as u64 - 1);
        assert_eq!(tail[9], MAX_SCRAPES as u64 - 10);
    }
}
