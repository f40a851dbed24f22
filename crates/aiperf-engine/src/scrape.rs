//! Server metrics (`--server-metrics`, on by default): each server's Prometheus page read every
//! ~333 ms from just before the first phase until just after the last, off the request path.
//!
//! Every endpoint has its own task and HTTP client, so a slow or dead page delays nothing else:
//! a scrape that takes longer than its timeout is a failed fetch, an endpoint that is not
//! reachable at start is skipped with one line, and one whose page keeps failing to parse is
//! dropped with a warning.

use std::time::Duration;

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

/// What one endpoint gave over the run.
#[derive(Debug)]
pub struct Collected {
    /// The page's URL, credentials left out.
    pub url: String,
    pub scrapes: Vec<Scrape>,
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
    /// Endpoints tried at start (answering or not).
    pub configured: usize,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Collected>>,
}

struct Endpoint {
    url: String,
    path: String,
    client: HttpClient,
}

/// `scheme://host:port/metrics` of every `--url` (same host and port, AIPerf's rule) and the
/// extra `--server-metrics` URLs, without duplicates.
fn metrics_urls(cfg: &ProfileConfig) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for u in &cfg.urls {
        let shown = u.to_string();
        let scheme = shown.split("://").next().unwrap_or("http");
        let page = format!("{scheme}://{}/metrics", u.authority());
        if !out.iter().any(|(p, _)| *p == page) {
            out.push((page, false));
        }
    }
    for extra in &cfg.server_metrics.extra_urls {
        if !out.iter().any(|(p, _)| p == extra) {
            out.push((extra.clone(), true));
        }
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

/// Opens a client per endpoint and reads each page once; endpoints that answer with a page
/// that parses start being scraped. `None` when collection is off or nothing answered.
pub async fn start(cfg: &ProfileConfig, clock: Clock) -> Option<Scrapers> {
    if !cfg.server_metrics.enabled {
        return None;
    }
    let insecure = cfg.insecure;
    let probes = metrics_urls(cfg)
        .into_iter()
        .map(|(url, explicit)| async move {
            let opts = ClientOptions {
                insecure,
                ..Default::default()
            };
            let base = BaseUrl::parse(&url).map_err(|e| format!("{url}: {e}"))?;
            let path = base.join("");
            let client = HttpClient::with_options(&base, clock, &opts)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let ep = Endpoint {
                url: base.to_string(),
                path,
                client,
            };
            let first = fetch(&ep, clock)
                .await
                .and_then(|(text, lat)| parse(&text).map(|p| (p, lat)).map_err(|e| e.to_string()));
            match first {
                Ok((page, lat)) => Ok((
                    ep,
                    Scrape {
                        t_ns: clock.to_wall_ns(clock.now_ns()),
                        page,
                    },
                    lat,
                )),
                Err(e) if explicit => Err(format!("{}: {e}", ep.url)),
                // A server without a metrics page is common: one quiet line, no warning.
                Err(e) => {
                    tracing::info!("server metrics: {} not read ({e}); skipped", ep.url);
                    Err(String::new())
                }
            }
        });
    let (stop, watcher) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut set: tokio::task::JoinSet<_> = probes.collect();
    let mut probed = Vec::new();
    while let Some(p) = set.join_next().await {
        probed.extend(p.ok());
    }
    let configured = probed.len();
    for probed in probed {
        match probed {
            Ok((ep, first, lat)) => {
                tasks.push(tokio::spawn(run(ep, first, lat, clock, watcher.clone())));
            }
            Err(e) if e.is_empty() => {}
            Err(e) => tracing::warn!("--server-metrics: {e}; skipped"),
        }
    }
    (!tasks.is_empty()).then_some(Scrapers {
        configured,
        stop,
        tasks,
    })
}

async fn run(
    ep: Endpoint,
    first: Scrape,
    first_latency: u64,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) -> Collected {
    let mut c = Collected {
        url: ep.url.clone(),
        scrapes: vec![first],
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
                    keep(
                        &mut c.scrapes,
                        Scrape {
                            t_ns: clock.to_wall_ns(clock.now_ns()),
                            page,
                        },
                    );
                }
                Err(e) => {
                    c.failed_fetches += 1;
                    bad_pages += 1;
                    if bad_pages >= PARSE_FAILURES_TO_DROP {
                        let why = format!(
                            "{PARSE_FAILURES_TO_DROP} pages in a row did not parse (last: {e})"
                        );
                        tracing::warn!("server metrics: {} dropped: {why}", ep.url);
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

/// Appends `s`; past [`MAX_SCRAPES`], every other scrape of the older half goes (the first,
/// the baseline, stays).
fn keep(scrapes: &mut Vec<Scrape>, s: Scrape) {
    if scrapes.len() >= MAX_SCRAPES {
        let half = scrapes.len() / 2;
        let mut i = 0usize;
        scrapes.retain(|_| {
            i += 1;
            i == 1 || i > half || i.is_multiple_of(2)
        });
    }
    scrapes.push(s);
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
        let mut v: Vec<Scrape> = (0..MAX_SCRAPES as u64).map(scrape).collect();
        keep(&mut v, scrape(u64::MAX));
        assert!(v.len() < MAX_SCRAPES);
        assert_eq!(v[0].t_ns, 0);
        assert_eq!(v.last().unwrap().t_ns, u64::MAX);
        // The newest half is kept whole.
        let tail: Vec<u64> = v.iter().rev().skip(1).take(10).map(|s| s.t_ns).collect();
        assert_eq!(tail[0], MAX_SCRAPES as u64 - 1);
        assert_eq!(tail[9], MAX_SCRAPES as u64 - 10);
    }
}
