//! Downloads a repository's tokenizer files from the Hugging Face Hub into the standard
//! `huggingface_hub` cache, so Python tools and we share one copy:
//!
//! ```text
//! <cache>/models--org--name/blobs/<etag>                      the file's bytes
//! <cache>/models--org--name/snapshots/<commit>/tokenizer.json a relative symlink to the blob
//!                                                             (a copy where symlinks fail)
//! <cache>/models--org--name/refs/<revision>                   the commit hash
//! ```
//!
//! The protocol is `huggingface_hub`'s: `GET {endpoint}/{repo_id}/resolve/{revision}/{file}`;
//! the commit is the `X-Repo-Commit` header and the blob name the `X-Linked-Etag` (else `ETag`)
//! header of the Hub's response, quotes and a `W/` prefix stripped. Redirects are followed (a
//! relative one for a renamed repo, a 302 to a CDN on another host for an LFS file); the token
//! goes to the endpoint's own origin only. A file is written to a temporary file in `blobs/`
//! and renamed into place only when complete (its `Content-Length` checked), so an interrupted
//! download never leaves something that looks like a cache entry.
//!
//! Why our own client and not the `hf-hub` crate: 1.x is an async `reqwest` client (a second
//! HTTP stack, retries, xet), 0.4.x pulls `ureq`, `indicatif` 0.17 (we use 0.18) and `dirs`;
//! both are new trees to build for two GETs, while hyper, rustls (ring) and webpki-roots are
//! already built for `aiperf-transport`. Owning these few hundred lines also keeps the
//! behaviour the tests pin down in our hands: the token never sent to a CDN host nor shown in
//! an error, the repo named in every error, a dropped body leaving nothing behind. Whether
//! hf-hub meets each of these was not checked in depth. See `docs/design/hub.md`.
//!
//! Everything that comes from the environment is read once, by [`HubConfig::from_env`]; tests
//! and embedders build a [`HubConfig`] directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use std::io::Write;
use url::Url;

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// What kind of repository: models (tokenizers) and datasets live in separate namespaces, on
/// the Hub (`/org/name` vs `/datasets/org/name`) and in the cache (`models--` vs `datasets--`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    Model,
    Dataset,
}

impl RepoKind {
    /// The plural the cache directories and the `/api/` routes use.
    fn plural(self) -> &'static str {
        match self {
            RepoKind::Model => "models",
            RepoKind::Dataset => "datasets",
        }
    }

    /// The path prefix of the repo's files on the Hub.
    fn url_prefix(self) -> &'static str {
        match self {
            RepoKind::Model => "",
            RepoKind::Dataset => "datasets/",
        }
    }
}

/// Where and how to reach the Hub. Build it with [`HubConfig::from_env`] (the `HF_*`
/// variables) or directly.
#[derive(Clone)]
pub struct HubConfig {
    /// `HF_ENDPOINT`, without a trailing slash.
    pub endpoint: String,
    /// The hub cache directory (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
    /// `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`).
    pub cache_dir: PathBuf,
    /// `HF_TOKEN`, else the token file. Never printed: `Debug` redacts it.
    pub token: Option<String>,
    /// `HF_HUB_OFFLINE`: the cache only, no request at all.
    pub offline: bool,
    /// Time to open a connection (DNS, TCP, TLS).
    pub connect_timeout: Duration,
    /// Time for a whole download, redirects included.
    pub download_timeout: Duration,
}

impl std::fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubConfig")
            .field("endpoint", &self.endpoint)
            .field("cache_dir", &self.cache_dir)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("offline", &self.offline)
            .finish()
    }
}

impl HubConfig {
    /// A configuration for `endpoint` and `cache_dir`, without token, online, default timeouts.
    pub fn new(endpoint: &str, cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            cache_dir: cache_dir.into(),
            token: None,
            offline: false,
            connect_timeout: Duration::from_secs(10),
            download_timeout: Duration::from_secs(120),
        }
    }

    /// The configuration `huggingface_hub` would use in this environment: `HF_ENDPOINT`,
    /// `HF_HUB_CACHE`/`HF_HOME`, `HF_HUB_OFFLINE`, `HF_TOKEN` (else `HF_TOKEN_PATH`, else
    /// `$HF_HOME/token`).
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let mut cfg = Self::new(&endpoint, hf_cache_dir());
        cfg.offline = var("HF_HUB_OFFLINE").is_some_and(|v| truthy(&v));
        cfg.token = var("HF_TOKEN")
            .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
            .map(|t| t.trim().to_string())
            .or_else(|| {
                let path = var("HF_TOKEN_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| hf_home().join("token"));
                std::fs::read_to_string(path)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
            });
        cfg
    }
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true"
    )
}

/// `HF_HOME`, else `XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
fn hf_home() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HOME") {
        return PathBuf::from(p);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("huggingface")
}

/// The hub cache directory, by `huggingface_hub`'s precedence: `HF_HUB_CACHE`
/// (`HUGGINGFACE_HUB_CACHE`), else `hf_home()/hub`.
pub fn hf_cache_dir() -> PathBuf {
    if let Some(p) =
        std::env::var_os("HF_HUB_CACHE").or_else(|| std::env::var_os("HUGGINGFACE_HUB_CACHE"))
    {
        return PathBuf::from(p);
    }
    hf_home().join("hub")
}

/// Why a file could not be had from the Hub. No variant carries the token.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(
        "'{repo}' is not in the Hugging Face cache ({cache}) and HF_HUB_OFFLINE is set, so \
         nothing is downloaded"
    )]
    Offline { repo: String, cache: String },
    #[error("'{0}' is not a Hugging Face repo id (expected 'org/name')")]
    BadRepoId(String),
    #[error("'{0}' is not a usable revision (empty, `.` or `..` parts)")]
    BadRevision(String),
    #[error("'{0}' is not a usable file name in a repo (empty, `.` or `..` parts)")]
    BadFile(String),
    #[error("the Hub's file list of '{repo}' is not what its API returns: {reason}")]
    BadListing { repo: String, reason: String },
    #[error("bad HF_ENDPOINT '{endpoint}': {reason}")]
    BadEndpoint { endpoint: String, reason: String },
    #[error(
        "Hugging Face Hub answered HTTP {status} for '{file}' of '{repo}': the repo does not \
         exist, or it is private or gated and needs a token with access (set HF_TOKEN or \
         `huggingface-cli login`){token_hint}"
    )]
    Unauthorized {
        repo: String,
        file: String,
        status: u16,
        /// Whether a token was sent (never the token itself).
        token_hint: &'static str,
    },
    #[error(
        "Hugging Face Hub answered HTTP 404 for '{file}' of '{repo}' at revision '{revision}': no \
         such repo, revision or file"
    )]
    NotFound {
        repo: String,
        revision: String,
        file: String,
    },
    #[error("Hugging Face Hub answered HTTP {status} for '{file}' of '{repo}'")]
    Status {
        repo: String,
        file: String,
        status: u16,
    },
    #[error("downloading '{file}' of '{repo}' from {host}: {reason}")]
    Network {
        repo: String,
        file: String,
        host: String,
        reason: String,
    },
    #[error("'{file}' of '{repo}': the Hub's answer lacks the {header} header")]
    MissingHeader {
        repo: String,
        file: String,
        header: &'static str,
    },
    #[error("writing '{path}' into the Hugging Face cache: {reason}")]
    Io { path: PathBuf, reason: String },
}

impl HubError {
    /// The HTTP status the Hub answered, if it answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HubError::Unauthorized { status, .. } | HubError::Status { status, .. } => {
                Some(*status)
            }
            HubError::NotFound { .. } => Some(404),
            _ => None,
        }
    }
}

/// Whether `s` has the shape of a Hub repo id: `name` or `org/name`, letters, digits, `-`,
/// `_`, `.`, no `--` or `..`, at most 96 characters.
pub fn is_repo_id(s: &str) -> bool {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !p.starts_with(['-', '.'])
            && !p.ends_with(['-', '.'])
    };
    let parts: Vec<&str> = s.split('/').collect();
    s.len() <= 96
        && (1..=2).contains(&parts.len())
        && parts.iter().all(|p| part_ok(p))
        && !s.contains("--")
        && !s.contains("..")
}

/// A repo's directory in the cache: `<cache>/models--org--name` or `<cache>/datasets--org--name`.
pub fn repo_dir_of(cache: &Path, kind: RepoKind, repo_id: &str) -> PathBuf {
    cache.join(format!("{}--{}", kind.plural(), repo_id.replace('/', "--")))
}

/// `<cache>/models--org--name/snapshots/<commit>/<file>` if it exists, where `<commit>` is the
/// content of `refs/<revision>` (or the revision itself when it is a commit hash): the lookup
/// `huggingface_hub` and `aiperf_dataset` do.
pub fn cached_file(cache: &Path, repo_id: &str, revision: &str, file: &str) -> Option<PathBuf> {
    cached_file_of(cache, RepoKind::Model, repo_id, revision, file)
}

/// [`cached_file`] for a repo of any kind.
pub fn cached_file_of(
    cache: &Path,
    kind: RepoKind,
    repo_id: &str,
    revision: &str,
    file: &str,
) -> Option<PathBuf> {
    let path = cached_snapshot(cache, kind, repo_id, revision)?.join(file);
    path.is_file().then_some(path)
}

/// `<repo dir>/snapshots/<commit>` for `revision` (through `refs/<revision>`, or the revision
/// itself when it is a commit), if that directory exists.
fn cached_snapshot(cache: &Path, kind: RepoKind, repo_id: &str, revision: &str) -> Option<PathBuf> {
    let dir = repo_dir_of(cache, kind, repo_id);
    let commit = std::fs::read_to_string(dir.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    if !safe_name(&commit) {
        return None;
    }
    let snap = dir.join("snapshots").join(commit);
    snap.is_dir().then_some(snap)
}

/// `tokenizer.json` of `repo_id` at `revision`: from the cache when it is there (no request),
/// else downloaded (with `tokenizer_config.json` when the repo has one, and `chat_template.jinja`
/// when that config has no `chat_template`, where newer repos keep it; their absence or
/// failure is ignored). Returns the snapshot path of `tokenizer.json`. Blocking.
pub fn tokenizer_json(cfg: &HubConfig, repo_id: &str, revision: &str) -> Result<PathBuf, HubError> {
    if let Some(p) = cached_file(&cfg.cache_dir, repo_id, revision, "tokenizer.json") {
        return Ok(p);
    }
    let path = download(cfg, repo_id, revision, "tokenizer.json")?;
    let config = match cached_file(&cfg.cache_dir, repo_id, revision, "tokenizer_config.json") {
        Some(p) => Some(p),
        None => download(cfg, repo_id, revision, "tokenizer_config.json")
            .map_err(|e| tracing::debug!("optional tokenizer_config.json not downloaded: {e}"))
            .ok(),
    };
    // Only a config that exists and lacks the template points to a chat_template.jinja; a repo
    // without a config is not asked for more.
    let lacks_template = config
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|c| c.get("chat_template").is_none());
    if lacks_template
        && cached_file(&cfg.cache_dir, repo_id, revision, "chat_template.jinja").is_none()
    {
        if let Err(e) = download(cfg, repo_id, revision, "chat_template.jinja") {
            tracing::debug!("optional chat_template.jinja not downloaded: {e}");
        }
    }
    Ok(path)
}

/// Downloads `file` of `repo_id` at `revision` into the cache (always a request, unless
/// offline) and returns its snapshot path. Blocking: runs its own small tokio runtime, so call
/// it from a plain or `spawn_blocking` thread.
pub fn download(
    cfg: &HubConfig,
    repo_id: &str,
    revision: &str,
    file: &str,
) -> Result<PathBuf, HubError> {
    download_of(cfg, RepoKind::Model, repo_id, revision, file)
}

/// [`download`] for a repo of any kind.
pub fn download_of(
    cfg: &HubConfig,
    kind: RepoKind,
    repo_id: &str,
    revision: &str,
    file: &str,
) -> Result<PathBuf, HubError> {
    if file
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err(HubError::BadFile(file.to_string()));
    }
    if cfg.offline {
        return Err(HubError::Offline {
            repo: repo_id.to_string(),
            cache: cfg.cache_dir.display().to_string(),
        });
    }
    if !is_repo_id(repo_id) {
        return Err(HubError::BadRepoId(repo_id.to_string()));
    }
    check_revision(revision)?;
    let job = Job {
        cfg,
        kind,
        repo: repo_id,
        revision,
        file,
    };
    block_on(&job, job.run())
}

/// A repo's files at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFiles {
    /// The commit the revision pointed at.
    pub commit: String,
    /// Every file's path in the repo, `/`-separated, sorted.
    pub files: Vec<String>,
}

/// The files of `repo_id` at `revision`: asked of the Hub's API
/// (`GET {endpoint}/api/{models|datasets}/{repo}/revision/{revision}`, as `huggingface_hub`'s
/// `repo_info` does), or, offline, read from the cached snapshot. Blocking, like [`download`].
pub fn repo_files(
    cfg: &HubConfig,
    kind: RepoKind,
    repo_id: &str,
    revision: &str,
) -> Result<RepoFiles, HubError> {
    if !is_repo_id(repo_id) {
        return Err(HubError::BadRepoId(repo_id.to_string()));
    }
    check_revision(revision)?;
    if cfg.offline {
        return cached_repo_files(&cfg.cache_dir, kind, repo_id, revision).ok_or_else(|| {
            HubError::Offline {
                repo: repo_id.to_string(),
                cache: cfg.cache_dir.display().to_string(),
            }
        });
    }
    let job = Job {
        cfg,
        kind,
        repo: repo_id,
        revision,
        file: "the file list",
    };
    block_on(&job, job.list())
}

/// `refs/<revision>` is a path in the cache: nothing may lead out of `refs/`.
fn check_revision(revision: &str) -> Result<(), HubError> {
    if revision
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err(HubError::BadRevision(revision.to_string()));
    }
    Ok(())
}

/// Runs one of `job`'s requests to the end on a runtime of its own (the Hub calls are
/// blocking), cut off at the download timeout.
fn block_on<T>(
    job: &Job<'_>,
    step: impl std::future::Future<Output = Result<T, HubError>>,
) -> Result<T, HubError> {
    let cfg = job.cfg;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HubError::Io {
            path: cfg.cache_dir.clone(),
            reason: format!("cannot start the download runtime: {e}"),
        })?;
    rt.block_on(async {
        match tokio::time::timeout(cfg.download_timeout, step).await {
            Ok(r) => r,
            Err(_) => Err(job.network(
                &cfg.endpoint,
                format!("timed out after {} s", cfg.download_timeout.as_secs()),
            )),
        }
    })
}

/// The files of a cached snapshot (what `huggingface_hub` would find offline).
pub fn cached_repo_files(
    cache: &Path,
    kind: RepoKind,
    repo_id: &str,
    revision: &str,
) -> Option<RepoFiles> {
    let snap = cached_snapshot(cache, kind, repo_id, revision)?;
    let commit = snap.file_name()?.to_string_lossy().into_owned();
    let mut files = Vec::new();
    let mut dirs = vec![snap.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            // Snapshot entries are symlinks to blobs: follow them for files, never for dirs.
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                dirs.push(path);
            } else if path.is_file() {
                let rel = path.strip_prefix(&snap).ok()?;
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push(parts.join("/"));
            }
        }
    }
    files.sort();
    Some(RepoFiles { commit, files })
}

/// Largest file list accepted from the API (a repo with a million files lists in ~100 MB).
const MAX_LISTING_BYTES: usize = 256 << 20;

struct Job<'a> {
    cfg: &'a HubConfig,
    kind: RepoKind,
    repo: &'a str,
    revision: &'a str,
    file: &'a str,
}

/// A header's value as text, if present and not empty.
fn header_str(h: &http::HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|v| !v.is_empty())
}

/// Strips quotes and a weak `W/` prefix from an ETag.
fn clean_etag(v: &str) -> String {
    let v = v.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"').to_string()
}

/// `scheme://host:port`, to decide where the token may go.
fn origin(u: &Url) -> (String, Option<String>, Option<u16>) {
    (
        u.scheme().to_string(),
        u.host_str().map(str::to_string),
        u.port_or_known_default(),
    )
}

/// A name for the blob that cannot escape `blobs/`.
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !s.starts_with('.')
}

impl Job<'_> {
    /// The error for a non-2xx, non-redirect answer.
    fn status_error(&self, status: u16) -> HubError {
        match status {
            401 | 403 => HubError::Unauthorized {
                repo: self.repo.to_string(),
                file: self.file.to_string(),
                status,
                token_hint: if self.cfg.token.is_some() {
                    " (a token was sent; does it have access?)"
                } else {
                    " (no token was sent)"
                },
            },
            404 => HubError::NotFound {
                repo: self.repo.to_string(),
                revision: self.revision.to_string(),
                file: self.file.to_string(),
            },
            _ => HubError::Status {
                repo: self.repo.to_string(),
                file: self.file.to_string(),
                status,
            },
        }
    }

    fn network(&self, url: &str, reason: String) -> HubError {
        let host = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| url.to_string());
        HubError::Network {
            repo: self.repo.to_string(),
            file: self.file.to_string(),
            host,
            reason,
        }
    }

    fn io(path: &Path, e: impl std::fmt::Display) -> HubError {
        HubError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }

    /// `{endpoint}/{path}` (the revision quoted into it by the caller).
    fn endpoint_url(&self, path: &str) -> Result<(Url, Url), HubError> {
        let bad = |reason: String| HubError::BadEndpoint {
            endpoint: self.cfg.endpoint.clone(),
            reason,
        };
        let base =
            Url::parse(&format!("{}/", self.cfg.endpoint)).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("only http:// and https:// are supported".into()));
        }
        let url = base.join(path).map_err(|e| bad(e.to_string()))?;
        Ok((base, url))
    }

    /// The revision as one path segment, as `huggingface_hub` quotes it (`refs/pr/1`).
    fn quoted_revision(&self) -> String {
        self.revision.replace('%', "%25").replace('/', "%2F")
    }

    /// GETs `path` on the endpoint, following up to 10 redirects (the token only to the
    /// endpoint's own origin), and returns the first 2xx answer; `on_answer` sees every
    /// answer's headers on the way. Any other status is the matching [`HubError`].
    async fn get_following(
        &self,
        path: &str,
        mut on_answer: impl FnMut(&http::HeaderMap),
    ) -> Result<http::Response<hyper::body::Incoming>, HubError> {
        let (base, mut url) = self.endpoint_url(path)?;
        let home = origin(&base);
        for _hop in 0..10 {
            let auth = (origin(&url) == home)
                .then_some(self.cfg.token.as_deref())
                .flatten();
            let resp = self.get(&url, auth).await?;
            on_answer(resp.headers());
            let status = resp.status().as_u16();
            match status {
                301 | 302 | 303 | 307 | 308 => {
                    let loc = header_str(resp.headers(), "location").ok_or_else(|| {
                        self.network(url.as_str(), format!("HTTP {status} without Location"))
                    })?;
                    url = url.join(&loc).map_err(|e| {
                        self.network(url.as_str(), format!("bad redirect '{loc}': {e}"))
                    })?;
                }
                200..=299 => return Ok(resp),
                _ => return Err(self.status_error(status)),
            }
        }
        Err(self.network(url.as_str(), "more than 10 redirects".into()))
    }

    async fn run(&self) -> Result<PathBuf, HubError> {
        let path = format!(
            "{}{}/resolve/{}/{}",
            self.kind.url_prefix(),
            self.repo,
            self.quoted_revision(),
            self.file
        );
        let mut commit: Option<String> = None;
        let mut etag: Option<String> = None;
        let resp = self
            .get_following(&path, |h| {
                // The Hub's own answer (a 200, or the 302 to the CDN) carries the commit and
                // the blob's ETag; the CDN's ETag is not the blob name.
                if commit.is_none() {
                    if let Some(c) = header_str(h, "x-repo-commit") {
                        commit = Some(c);
                        etag = header_str(h, "x-linked-etag")
                            .or_else(|| header_str(h, "etag"))
                            .map(|e| clean_etag(&e));
                    }
                }
            })
            .await?;
        self.store(resp, commit, etag).await
    }

    /// `repo_info`: the commit and the sibling files, redirects (a renamed repo) followed.
    async fn list(&self) -> Result<RepoFiles, HubError> {
        let path = format!(
            "api/{}/{}/revision/{}",
            self.kind.plural(),
            self.repo,
            self.quoted_revision()
        );
        let resp = self.get_following(&path, |_| {}).await?;
        let body = self.read_capped(resp, MAX_LISTING_BYTES).await?;
        let listing = self.parse_listing(&body)?;
        self.remember_commit(&listing.commit)?;
        Ok(listing)
    }

    /// The whole body, refused past `cap` bytes.
    async fn read_capped(
        &self,
        resp: http::Response<hyper::body::Incoming>,
        cap: usize,
    ) -> Result<Vec<u8>, HubError> {
        let mut body = resp.into_body();
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                self.network(&self.cfg.endpoint, format!("connection lost mid-body: {e}"))
            })?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > cap {
                    return Err(self.network(
                        &self.cfg.endpoint,
                        format!("answer larger than {} MiB", cap >> 20),
                    ));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    }

    /// `{"sha": "...", "siblings": [{"rfilename": "..."}, ...]}`.
    fn parse_listing(&self, body: &[u8]) -> Result<RepoFiles, HubError> {
        let bad = |reason: String| HubError::BadListing {
            repo: self.repo.to_string(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let commit = v
            .get("sha")
            .and_then(|s| s.as_str())
            .filter(|s| safe_name(s))
            .ok_or_else(|| bad("no usable 'sha'".into()))?
            .to_string();
        let siblings = v
            .get("siblings")
            .and_then(|s| s.as_array())
            .ok_or_else(|| bad("no 'siblings' list".into()))?;
        let mut files: Vec<String> = siblings
            .iter()
            .filter_map(|s| s.get("rfilename").and_then(|f| f.as_str()))
            .filter(|f| !f.split('/').any(|p| p.is_empty() || p == "." || p == ".."))
            .map(str::to_string)
            .collect();
        files.sort();
        Ok(RepoFiles { commit, files })
    }

    /// `refs/<revision>` = commit, so the cache answers offline what the Hub answered now.
    fn remember_commit(&self, commit: &str) -> Result<(), HubError> {
        if self.revision == commit {
            return Ok(());
        }
        let r = repo_dir_of(&self.cfg.cache_dir, self.kind, self.repo)
            .join("refs")
            .join(self.revision);
        if let Some(parent) = r.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Self::io(parent, e))?;
        }
        std::fs::write(&r, commit).map_err(|e| Self::io(&r, e))
    }

    /// One GET on a fresh HTTP/1.1 connection.
    async fn get(
        &self,
        url: &Url,
        token: Option<&str>,
    ) -> Result<http::Response<hyper::body::Incoming>, HubError> {
        let net = |reason: String| self.network(url.as_str(), reason);
        let host = url
            .host_str()
            .ok_or_else(|| net("URL has no host".into()))?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| net("URL has no port".into()))?;
        let connect_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tcp = tokio::time::timeout(
            self.cfg.connect_timeout,
            tokio::net::TcpStream::connect((connect_host.as_str(), port)),
        )
        .await
        .map_err(|_| {
            net(format!(
                "no connection within {} s",
                self.cfg.connect_timeout.as_secs()
            ))
        })?
        .map_err(|e| net(format!("cannot connect: {e}")))?;
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut req = http::Request::get(path)
            .header(http::header::HOST, authority)
            .header(http::header::USER_AGENT, "aiperf-rs/hub")
            .header(http::header::ACCEPT_ENCODING, "identity");
        if let Some(t) = token {
            let mut v = http::HeaderValue::from_str(&format!("Bearer {t}"))
                .map_err(|_| net("the token is not a valid header value".into()))?;
            v.set_sensitive(true);
            req = req.header(http::header::AUTHORIZATION, v);
        }
        let req = req
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())
            .map_err(|e| net(e.to_string()))?;
        if url.scheme() == "https" {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| net(format!("TLS setup: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let name = rustls::pki_types::ServerName::try_from(connect_host.clone())
                .map_err(|e| net(format!("bad TLS name: {e}")))?;
            let tls = tokio::time::timeout(
                self.cfg.connect_timeout,
                tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
            )
            .await
            .map_err(|_| net("TLS handshake timed out".into()))?
            .map_err(|e| net(format!("TLS: {e}")))?;
            send(TokioIo::new(tls), req).await.map_err(net)
        } else {
            send(TokioIo::new(tcp), req).await.map_err(net)
        }
    }

    /// Streams a 2xx body into `blobs/` and links it from `snapshots/<commit>/<file>`.
    async fn store(
        &self,
        resp: http::Response<hyper::body::Incoming>,
        commit: Option<String>,
        etag: Option<String>,
    ) -> Result<PathBuf, HubError> {
        let missing = |header| HubError::MissingHeader {
            repo: self.repo.to_string(),
            file: self.file.to_string(),
            header,
        };
        let commit = commit
            .filter(|c| safe_name(c))
            .ok_or_else(|| missing("X-Repo-Commit"))?;
        let etag = etag
            .filter(|e| safe_name(e))
            .ok_or_else(|| missing("ETag"))?;
        let expected: Option<u64> = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let dir = repo_dir_of(&self.cfg.cache_dir, self.kind, self.repo);
        let blobs = dir.join("blobs");
        std::fs::create_dir_all(&blobs).map_err(|e| Self::io(&blobs, e))?;
        let blob = blobs.join(&etag);
        if !blob.is_file() {
            let mut tmp = tempfile::Builder::new()
                .prefix(&format!("{etag}."))
                .suffix(".incomplete")
                .tempfile_in(&blobs)
                .map_err(|e| Self::io(&blobs, e))?;
            let mut body = resp.into_body();
            let mut got: u64 = 0;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| {
                    self.network(&self.cfg.endpoint, format!("connection lost mid-body: {e}"))
                })?;
                if let Ok(data) = frame.into_data() {
                    got += data.len() as u64;
                    tmp.write_all(&data).map_err(|e| Self::io(tmp.path(), e))?;
                }
            }
            if let Some(n) = expected {
                if n != got {
                    return Err(self.network(
                        &self.cfg.endpoint,
                        format!("incomplete body: {got} of {n} bytes"),
                    ));
                }
            }
            tmp.as_file()
                .sync_all()
                .map_err(|e| Self::io(tmp.path(), e))?;
            tmp.persist(&blob).map_err(|e| Self::io(&blob, e.error))?;
        }
        let snap_dir = dir.join("snapshots").join(&commit);
        let snap = snap_dir.join(self.file);
        if let Some(parent) = snap.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Self::io(parent, e))?;
        }
        link(&blob, &snap, &etag, self.file).map_err(|e| Self::io(&snap, e))?;
        if self.revision != commit {
            let r = dir.join("refs").join(self.revision);
            if let Some(parent) = r.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Self::io(parent, e))?;
            }
            std::fs::write(&r, &commit).map_err(|e| Self::io(&r, e))?;
        }
        Ok(snap)
    }
}

/// `snap` → `../../blobs/<etag>` (relative, as `huggingface_hub` makes it), or a copy where
/// symlinks are unavailable.
fn link(blob: &Path, snap: &Path, etag: &str, file: &str) -> std::io::Result<()> {
    if snap.symlink_metadata().is_ok() {
        std::fs::remove_file(snap)?;
    }
    #[cfg(unix)]
    {
        let depth = Path::new(file).components().count() + 1;
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(etag);
        if std::os::unix::fs::symlink(&target, snap).is_ok() {
            return Ok(());
        }
    }
    let _ = (etag, file);
    std::fs::copy(blob, snap).map(|_| ())
}

async fn send<I>(
    io: I,
    req: http::Request<http_body_util::Empty<hyper::body::Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
        .send_request(req)
        .await
        .map_err(|e| format!("request failed: {e}"))
}
