//! `--reset-kv-cache` and `--server-profiler` resolved: which control requests a run POSTs to
//! the server, on which paths, with which timeout. As in AIPerf, giving a hook's path or
//! timeout alone turns the hook on, a path must be relative and start with '/' (control traffic
//! always goes to the endpoint's own origin), and an unset timeout is 30 s, independent of the
//! inference `--request-timeout-seconds`.

use std::time::Duration;

use super::{invalid, positive};
use crate::cli::ControlArgs;
use crate::ConfigError;

/// AIPerf's default KV-cache reset path (vLLM's and SGLang's `/reset_prefix_cache`).
pub const DEFAULT_RESET_KV_CACHE_PATH: &str = "/reset_prefix_cache";
/// AIPerf's default profiler start path.
pub const DEFAULT_SERVER_PROFILER_START_PATH: &str = "/start_profile";
/// AIPerf's default profiler stop path.
pub const DEFAULT_SERVER_PROFILER_STOP_PATH: &str = "/stop_profile";
/// AIPerf's default timeout of one control POST, seconds.
pub const DEFAULT_CONTROL_HOOK_TIMEOUT_SECONDS: f64 = 30.0;
/// AIPerf's default total time spent retrying a retryable KV-cache reset failure, seconds.
pub const DEFAULT_RESET_KV_CACHE_MAX_RETRY_SECONDS: f64 = 60.0;

/// The KV-cache reset POSTed once before each run's first request.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetKvCache {
    /// Origin-relative path, starting with '/'.
    pub path: String,
    /// Timeout of one POST.
    pub timeout: Duration,
    /// How long a retryable failure (no response, or 409/423/429/503) is retried.
    pub max_retry: Duration,
}

/// The profiler start/stop POSTed around the profiling phase.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerProfiler {
    /// Origin-relative path of the start request, starting with '/'.
    pub start_path: String,
    /// Origin-relative path of the stop request, starting with '/'.
    pub stop_path: String,
    /// Timeout of one POST.
    pub timeout: Duration,
}

/// The server control requests a run makes (none by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerControl {
    pub reset_kv_cache: Option<ResetKvCache>,
    pub server_profiler: Option<ServerProfiler>,
}

impl ServerControl {
    /// Whether the run sends any control request.
    pub fn any(&self) -> bool {
        self.reset_kv_cache.is_some() || self.server_profiler.is_some()
    }
}

fn path(flag: &'static str, given: &Option<String>, default: &str) -> Result<String, ConfigError> {
    match given {
        None => Ok(default.to_string()),
        Some(p) if p.contains("://") || !p.starts_with('/') => Err(invalid(
            flag,
            format!("must be a relative path starting with '/', got '{p}'"),
        )),
        Some(p) if p.chars().any(|c| c.is_whitespace() || c.is_control()) => Err(invalid(
            flag,
            format!("must not contain spaces or control characters, got {p:?}"),
        )),
        Some(p) => Ok(p.clone()),
    }
}

fn timeout(flag: &'static str, given: Option<f64>) -> Result<Duration, ConfigError> {
    let s = given.unwrap_or(DEFAULT_CONTROL_HOOK_TIMEOUT_SECONDS);
    positive(flag, s)?;
    // Far beyond any useful timeout, and still a valid Duration.
    Ok(Duration::from_secs_f64(s.min(1e9)))
}

pub(super) fn resolve(args: &ControlArgs) -> Result<ServerControl, ConfigError> {
    let reset_on = args.reset_kv_cache
        || args.reset_kv_cache_path.is_some()
        || args.reset_kv_cache_timeout_seconds.is_some();
    let reset_kv_cache = if reset_on {
        Some(ResetKvCache {
            path: path(
                "--reset-kv-cache-path",
                &args.reset_kv_cache_path,
                DEFAULT_RESET_KV_CACHE_PATH,
            )?,
            timeout: timeout(
                "--reset-kv-cache-timeout-seconds",
                args.reset_kv_cache_timeout_seconds,
            )?,
            max_retry: Duration::from_secs_f64(DEFAULT_RESET_KV_CACHE_MAX_RETRY_SECONDS),
        })
    } else {
        None
    };
    let profiler_on = args.server_profiler
        || args.server_profiler_start_path.is_some()
        || args.server_profiler_stop_path.is_some()
        || args.server_profiler_timeout_seconds.is_some();
    let server_profiler = if profiler_on {
        Some(ServerProfiler {
            start_path: path(
                "--server-profiler-start-path",
                &args.server_profiler_start_path,
                DEFAULT_SERVER_PROFILER_START_PATH,
            )?,
            stop_path: path(
                "--server-profiler-stop-path",
                &args.server_profiler_stop_path,
                DEFAULT_SERVER_PROFILER_STOP_PATH,
            )?,
            timeout: timeout(
                "--server-profiler-timeout-seconds",
                args.server_profiler_timeout_seconds,
            )?,
        })
    } else {
        None
    };
    Ok(ServerControl {
        reset_kv_cache,
        server_profiler,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, resolve};
    use super::*;

    fn control(extra: &[&str]) -> ServerControl {
        let mut a = vec!["-m", "x"];
        a.extend_from_slice(extra);
        resolve(&a).expect("resolves").server_control
    }

    #[test]
    fn no_control_request_without_the_flags() {
        let c = control(&[]);
        assert_eq!(c, ServerControl::default());
        assert!(!c.any());
    }

    #[test]
    fn the_flags_take_aiperf_defaults() {
        let c = control(&["--reset-kv-cache", "--server-profiler"]);
        assert_eq!(
            c.reset_kv_cache,
            Some(ResetKvCache {
                path: "/reset_prefix_cache".into(),
                timeout: Duration::from_secs(30),
                max_retry: Duration::from_secs(60),
            })
        );
        assert_eq!(
            c.server_profiler,
            Some(ServerProfiler {
                start_path: "/start_profile".into(),
                stop_path: "/stop_profile".into(),
                timeout: Duration::from_secs(30),
            })
        );
    }

    #[test]
    fn a_path_or_timeout_alone_turns_its_hook_on() {
        let c = control(&["--reset-kv-cache-path", "/flush"]);
        assert_eq!(c.reset_kv_cache.unwrap().path, "/flush");
        assert!(c.server_profiler.is_none());
        let c = control(&["--server-profiler-timeout-seconds", "2.5"]);
        assert!(c.reset_kv_cache.is_none());
        let p = c.server_profiler.unwrap();
        assert_eq!(p.timeout, Duration::from_millis(2500));
        assert_eq!(p.start_path, "/start_profile");
        let c = control(&[
            "--server-profiler-start-path",
            "/a",
            "--server-profiler-stop-path",
            "/b",
            "--reset-kv-cache-timeout-seconds",
            "5",
        ]);
        let p = c.server_profiler.unwrap();
        assert_eq!((p.start_path.as_str(), p.stop_path.as_str()), ("/a", "/b"));
        assert_eq!(c.reset_kv_cache.unwrap().timeout, Duration::from_secs(5));
    }

    #[test]
    fn bad_paths_and_timeouts_name_the_flag() {
        for (a, msg) in [
            (
                &["--reset-kv-cache-path", "reset"][..],
                "--reset-kv-cache-path: must be a relative path starting with '/', got 'reset'",
            ),
            (
                &["--server-profiler-start-path", "http://evil/start"],
                "--server-profiler-start-path: must be a relative path starting with '/', got 'http://evil/start'",
            ),
            (
                &["--server-profiler-stop-path", "/a b"],
                "--server-profiler-stop-path: must not contain spaces or control characters, got \"/a b\"",
            ),
            (
                &["--reset-kv-cache-timeout-seconds", "0"],
                "--reset-kv-cache-timeout-seconds: must be > 0, got 0",
            ),
            (
                &["--server-profiler-timeout-seconds=-1"],
                "--server-profiler-timeout-seconds: must be > 0, got -1",
            ),
            (
                &["--server-profiler-timeout-seconds", "inf"],
                "--server-profiler-timeout-seconds: must be > 0, got inf",
            ),
        ] {
            let mut full = vec!["-m", "x"];
            full.extend_from_slice(a);
            assert_eq!(err(&full), msg, "{a:?}");
        }
    }
}
