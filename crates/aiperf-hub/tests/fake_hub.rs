//! The Hub client against a fake Hub on 127.0.0.1 (a std::net server speaking HTTP/1.1 with
//! `Connection: close`), serving a small real tokenizer.json.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use aiperf_dataset::tokenizer::find_in_hf_cache;
use aiperf_dataset::TextTokenizer;
use aiperf_hub::{tokenizer_json, HubConfig, HubError};

/// A WordLevel tokenizer.json the `tokenizers` crate loads.
const TOKENIZER_JSON: &str = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,"model":{"type":"WordLevel","vocab":{"[UNK]":0,"hello":1,"world":2},"unk_token":"[UNK]"}}"#;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const TOKEN: &str = "hf_SuperSecretValue42";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
}

/// What the server writes back for a path: raw bytes, then the connection is closed.
type Handler = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

struct FakeHub {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeHub {
    fn start(handler: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, &handler, &seen2);
            }
        });
        Self { url, seen }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization,
    });
    let mut stream = stream;
    let _ = stream.write_all(&handler(&path));
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn not_found() -> Vec<u8> {
    response("404 Not Found", &[], b"Entry not found")
}

/// A Hub that has `org/tiny` at `main` with tokenizer.json only.
fn tiny_repo(path: &str) -> Vec<u8> {
    if path == "/org/tiny/resolve/main/tokenizer.json" {
        response(
            "200 OK",
            &[("X-Repo-Commit", COMMIT), ("ETag", "W/\"blob-etag-1\"")],
            TOKENIZER_JSON.as_bytes(),
        )
    } else {
        not_found()
    }
}

fn config(hub: &FakeHub, cache: &Path) -> HubConfig {
    HubConfig::new(&hub.url, cache)
}

/// The first load fills the standard layout (blob, relative symlink, ref) that the dataset's
/// cache lookup finds and loads; the second load asks nothing.
#[test]
fn first_download_fills_the_standard_layout_and_the_second_makes_no_request() {
    let hub = FakeHub::start(tiny_repo);
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(&hub, cache.path());
    let path = tokenizer_json(&cfg, "org/tiny", "main").expect("downloaded");
    let repo = cache.path().join("models--org--tiny");
    assert_eq!(
        path,
        repo.join("snapshots").join(COMMIT).join("tokenizer.json")
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("blobs/blob-etag-1")).unwrap(),
        TOKENIZER_JSON
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        COMMIT
    );
    #[cfg(unix)]
    assert_eq!(
        std::fs::read_link(&path).unwrap(),
        Path::new("../../blobs/blob-etag-1")
    );
    // No temporary file is left in blobs/.
    let blobs: Vec<_> = std::fs::read_dir(repo.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(blobs, vec!["blob-etag-1".to_string()]);
    assert_eq!(
        find_in_hf_cache(cache.path(), "org/tiny", "main"),
        Some(path.clone())
    );
    let t = TextTokenizer::load(path.to_str().unwrap(), "main").expect("a real tokenizer");
    assert_eq!(t.count("hello world hello"), 3);

    // tokenizer.json, then the optional tokenizer_config.json (404, ignored).
    let first = hub.requests();
    assert_eq!(
        first.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
        vec![
            "/org/tiny/resolve/main/tokenizer.json",
            "/org/tiny/resolve/main/tokenizer_config.json"
        ]
    );
    let again = tokenizer_json(&cfg, "org/tiny", "main").expect("from the cache");
    assert_eq!(again, path);
    assert_eq!(
        hub.requests().len(),
        first.len(),
        "no request the second time"
    );
}

/// A 302 to a CDN on another origin is followed; the blob is named by the Hub's
/// `X-Linked-Etag`, not the CDN's ETag; the token goes to the Hub only.
#[test]
fn redirect_to_another_host_is_followed_without_the_token() {
    let cdn = FakeHub::start(|path| {
        if path == "/cdn/blob?sig=1" {
            response(
                "200 OK",
                &[("ETag", "\"cdn-etag\"")],
                TOKENIZER_JSON.as_bytes(),
            )
        } else {
            not_found()
        }
    });
    let cdn_url = format!("{}/cdn/blob?sig=1", cdn.url);
    let hub = FakeHub::start(move |path| {
        if path == "/org/big/resolve/main/tokenizer.json" {
            response(
                "302 Found",
                &[
                    ("X-Repo-Commit", COMMIT),
                    ("X-Linked-Etag", "\"sha256-abc\""),
                    ("ETag", "\"pointer-etag\""),
                    ("Location", &cdn_url),
                ],
                b"",
            )
        } else {
            not_found()
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(&hub, cache.path());
    cfg.token = Some(TOKEN.to_string());
    let path = tokenizer_json(&cfg, "org/big", "main").expect("downloaded through the CDN");
    assert!(cache
        .path()
        .join("models--org--big/blobs/sha256-abc")
        .is_file());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), TOKENIZER_JSON);
    let hub_seen = hub.requests();
    assert_eq!(
        hub_seen[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let cdn_seen = cdn.requests();
    assert_eq!(cdn_seen.len(), 1);
    assert_eq!(cdn_seen[0].authorization, None, "token leaked to the CDN");
}

/// A relative redirect (a renamed repo) is followed on the same host.
#[test]
fn relative_redirect_is_followed() {
    let hub = FakeHub::start(|path| match path {
        "/old/name/resolve/main/tokenizer.json" => response(
            "307 Temporary Redirect",
            &[("Location", "/org/tiny/resolve/main/tokenizer.json")],
            b"",
        ),
        p => tiny_repo(p),
    });
    let cache = tempfile::tempdir().unwrap();
    let path = tokenizer_json(&config(&hub, cache.path()), "old/name", "main").unwrap();
    assert_eq!(
        path,
        cache
            .path()
            .join("models--old--name/snapshots")
            .join(COMMIT)
            .join("tokenizer.json")
    );
    assert!(find_in_hf_cache(cache.path(), "old/name", "main").is_some());
}

/// 401: the error names the repo and asks for a token, and does not contain the token.
#[test]
fn unauthorized_asks_for_a_token_without_showing_it() {
    let hub = FakeHub::start(|_| response("401 Unauthorized", &[], b"Repository not found"));
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(&hub, cache.path());
    cfg.token = Some(TOKEN.to_string());
    let e = tokenizer_json(&cfg, "org/gated", "main").unwrap_err();
    assert!(matches!(e, HubError::Unauthorized { status: 401, .. }));
    let text = e.to_string();
    assert!(text.contains("'org/gated'"), "{text}");
    assert!(text.contains("token"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
    assert!(!format!("{cfg:?}").contains(TOKEN));
}

/// 404: a clear error naming the repo, the revision and the file.
#[test]
fn not_found_is_clear() {
    let hub = FakeHub::start(|_| not_found());
    let cache = tempfile::tempdir().unwrap();
    let e = tokenizer_json(&config(&hub, cache.path()), "org/none", "v2").unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(
        e.to_string(),
        "Hugging Face Hub answered HTTP 404 for 'tokenizer.json' of 'org/none' at revision 'v2': \
         no such repo, revision or file"
    );
    assert!(find_in_hf_cache(cache.path(), "org/none", "v2").is_none());
}

/// Headers promise 1000 bytes, 100 arrive, the connection closes: an error, and nothing in the
/// cache that looks like an entry (no blob, no snapshot, no ref, no temporary file).
#[test]
fn dropped_body_leaves_no_cache_entry() {
    let hub = FakeHub::start(|path| {
        if path.ends_with("/tokenizer.json") {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nX-Repo-Commit: {COMMIT}\r\n\
                 ETag: \"blob-etag-1\"\r\nContent-Length: 1000\r\n\r\n"
            )
            .into_bytes();
            out.extend_from_slice(&TOKENIZER_JSON.as_bytes()[..100]);
            out
        } else {
            not_found()
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let e = tokenizer_json(&config(&hub, cache.path()), "org/tiny", "main").unwrap_err();
    assert!(matches!(e, HubError::Network { .. }), "{e}");
    assert!(e.to_string().contains("'org/tiny'"), "{e}");
    assert!(find_in_hf_cache(cache.path(), "org/tiny", "main").is_none());
    let repo = cache.path().join("models--org--tiny");
    let leftovers: Vec<_> = std::fs::read_dir(repo.join("blobs"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!repo.join("snapshots").exists());
    assert!(!repo.join("refs").exists());
}

/// Offline: no request at all, and an error saying why.
#[test]
fn offline_makes_no_request() {
    let hub = FakeHub::start(tiny_repo);
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(&hub, cache.path());
    cfg.offline = true;
    let e = tokenizer_json(&cfg, "org/tiny", "main").unwrap_err();
    assert!(matches!(e, HubError::Offline { .. }));
    assert!(e.to_string().contains("HF_HUB_OFFLINE"), "{e}");
    assert!(e.to_string().contains("'org/tiny'"), "{e}");
    assert!(hub.requests().is_empty());
}

/// A revision with a `/` is one URL segment (`refs%2Fpr%2F1`) and a nested ref file; one that
/// would lead out of `refs/` is refused before any request.
#[test]
fn revisions_with_slashes_are_quoted_and_dot_dot_is_refused() {
    let hub = FakeHub::start(|path| {
        if path == "/org/tiny/resolve/refs%2Fpr%2F1/tokenizer.json" {
            response(
                "200 OK",
                &[("X-Repo-Commit", COMMIT), ("ETag", "\"blob-etag-1\"")],
                TOKENIZER_JSON.as_bytes(),
            )
        } else {
            not_found()
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(&hub, cache.path());
    tokenizer_json(&cfg, "org/tiny", "refs/pr/1").expect("downloaded");
    assert_eq!(
        std::fs::read_to_string(cache.path().join("models--org--tiny/refs/refs/pr/1")).unwrap(),
        COMMIT
    );
    assert!(find_in_hf_cache(cache.path(), "org/tiny", "refs/pr/1").is_some());
    let n = hub.requests().len();
    let e = tokenizer_json(&cfg, "org/tiny", "../../../etc").unwrap_err();
    assert!(matches!(e, HubError::BadRevision(_)), "{e}");
    assert_eq!(hub.requests().len(), n);
}

/// A newer repo keeps its chat template in chat_template.jinja, not in tokenizer_config.json:
/// the download fetches it too, and the tokenizer's chat template loads from the snapshot.
#[test]
fn a_config_without_a_template_brings_chat_template_jinja() {
    let hub = FakeHub::start(|path| {
        let file = |etag: &str, body: &str| {
            response(
                "200 OK",
                &[("X-Repo-Commit", COMMIT), ("ETag", etag)],
                body.as_bytes(),
            )
        };
        match path {
            "/org/chat/resolve/main/tokenizer.json" => file("\"e1\"", TOKENIZER_JSON),
            "/org/chat/resolve/main/tokenizer_config.json" => {
                file("\"e2\"", r#"{"eos_token": {"content": "</s>"}}"#)
            }
            "/org/chat/resolve/main/chat_template.jinja" => file(
                "\"e3\"",
                "{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}\n",
            ),
            _ => not_found(),
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let path = tokenizer_json(&config(&hub, cache.path()), "org/chat", "main").unwrap();
    assert_eq!(
        hub.requests()
            .iter()
            .map(|s| s.path.rsplit('/').next().unwrap().to_string())
            .collect::<Vec<_>>(),
        [
            "tokenizer.json",
            "tokenizer_config.json",
            "chat_template.jinja"
        ]
    );
    let t = TextTokenizer::from_path(&path, "org/chat").unwrap();
    let template = aiperf_dataset::chat_template::ChatTemplate::of_tokenizer(&t).unwrap();
    let messages = [serde_json::json!({"role": "user", "content": "hello"})];
    assert_eq!(template.render(&messages, true).unwrap(), "hello</s>");
}
