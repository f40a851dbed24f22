//! Shared by both test binaries: the mock started in-process on port 0, one builder for
//! `aiperf profile` argument lists ([`Profile`]), run in-process ([`Profile::run`]) or by the
//! built binary ([`Profile::command`]), and readers for the artifacts.

#![allow(dead_code)]

use std::fmt::Display;
use std::path::{Path, PathBuf};

use aiperf_config::{Cli, Command, ProfileConfig};
use aiperf_engine::{RunOutcome, SetOutcome};
use aiperf_mock_server::{MockConfig, MockHandle, RecordedRequest};
use aiperf_plugins::Registry;
use clap::Parser;
use serde_json::Value;

pub async fn mock(ttft_ms: f64, itl_ms: f64) -> MockHandle {
    mock_with(MockConfig::for_tests(ttft_ms, itl_ms)).await
}

pub async fn mock_with(cfg: MockConfig) -> MockHandle {
    aiperf_mock_server::start(cfg)
        .await
        .expect("mock server starts")
}

/// The arguments of one `aiperf profile` command line, in the order they were added (the
/// artifact directory is added last, by [`Profile::argv`]).
///
/// ```ignore
/// Profile::chat(&url).streaming().concurrency(4).request_count(20).arg("--foo", "bar")
/// ```
#[derive(Clone, Debug, Default)]
pub struct Profile {
    args: Vec<String>,
}

impl Profile {
    /// No arguments at all: for command lines that leave out `--model` or `--url` on purpose.
    pub fn bare() -> Self {
        Self::default()
    }

    /// `-m <model> -u <url>`.
    pub fn new(model: &str, url: &str) -> Self {
        Self::bare().arg("-m", model).arg("-u", url)
    }

    /// `-m mock-model -u <url> --endpoint-type chat`.
    pub fn chat(url: &str) -> Self {
        Self::new("mock-model", url).endpoint("chat")
    }

    /// `--endpoint-type <kind>`.
    pub fn endpoint(self, kind: &str) -> Self {
        self.arg("--endpoint-type", kind)
    }

    /// `--streaming`.
    pub fn streaming(self) -> Self {
        self.flag("--streaming")
    }

    /// `--concurrency <n>`.
    pub fn concurrency(self, n: impl Display) -> Self {
        self.arg("--concurrency", n)
    }

    /// `--request-count <n>`.
    pub fn request_count(self, n: impl Display) -> Self {
        self.arg("--request-count", n)
    }

    /// `--request-rate <r>`.
    pub fn request_rate(self, r: impl Display) -> Self {
        self.arg("--request-rate", r)
    }

    /// `--isl <n>`: mean synthetic input length in tokens.
    pub fn isl(self, n: impl Display) -> Self {
        self.arg("--isl", n)
    }

    /// `--osl <n>`: mean output length in tokens.
    pub fn osl(self, n: impl Display) -> Self {
        self.arg("--osl", n)
    }

    /// `--random-seed <n>`.
    pub fn seed(self, n: impl Display) -> Self {
        self.arg("--random-seed", n)
    }

    /// `--ui-type <kind>`.
    pub fn ui(self, kind: &str) -> Self {
        self.arg("--ui-type", kind)
    }

    /// `--input-file <file> --custom-dataset-type <kind>`.
    pub fn input_file(self, file: impl Display, kind: &str) -> Self {
        self.arg("--input-file", file)
            .arg("--custom-dataset-type", kind)
    }

    /// Any option with its value: `<flag> <value>`.
    pub fn arg(mut self, flag: &str, value: impl Display) -> Self {
        self.args.push(flag.to_string());
        self.args.push(value.to_string());
        self
    }

    /// Any option without a value.
    pub fn flag(mut self, flag: &str) -> Self {
        self.args.push(flag.to_string());
        self
    }

    /// `flag` when `on`, nothing otherwise.
    pub fn flag_if(self, on: bool, flag: &str) -> Self {
        if on {
            self.flag(flag)
        } else {
            self
        }
    }

    /// Raw arguments, as given.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// The whole command line, program name first: `aiperf profile <args>` and, when given,
    /// `--artifact-dir <dir>`.
    pub fn argv(&self, artifact_dir: Option<&Path>) -> Vec<String> {
        let mut argv = vec!["aiperf".to_string(), "profile".to_string()];
        argv.extend(self.args.iter().cloned());
        if let Some(dir) = artifact_dir {
            argv.push("--artifact-dir".into());
            argv.push(dir.display().to_string());
        }
        argv
    }

    /// This command line resolved as `aiperf profile` resolves it, writing into `dir`.
    pub fn config(&self, dir: &Path) -> ProfileConfig {
        resolve(&Registry::builtin(), &self.argv(Some(dir))).expect("a valid command line")
    }

    /// Runs the profile in this process with the built-in plugins, writing into `dir`.
    pub async fn run(&self, dir: &Path) -> anyhow::Result<RunOutcome> {
        self.run_with(Registry::builtin(), dir).await
    }

    /// Runs the profile in this process with the plugins in `registry`, writing into `dir`.
    pub async fn run_with(&self, registry: Registry, dir: &Path) -> anyhow::Result<RunOutcome> {
        run_in_process(registry, self.argv(Some(dir))).await
    }

    /// Runs the profile as a set of runs (sweep, repeated trials) in this process, writing
    /// under `dir`; each run's console text is collected in the outcome's order.
    pub async fn run_set(&self, dir: &Path) -> anyhow::Result<(SetOutcome, Vec<String>)> {
        let argv = self.argv(Some(dir));
        let Command::Profile(p) = Cli::try_parse_from(&argv)?.command else {
            anyhow::bail!("not a profile command")
        };
        let registry = Registry::builtin();
        let set = ProfileConfig::resolve_set(*p, &argv, &registry)?;
        let engine = aiperf_engine::Engine::new(std::sync::Arc::new(registry));
        let mut printed = Vec::new();
        let mut print = |s: &str| printed.push(s.to_string());
        let outcome = engine
            .run_set(&set, "test-sweep", &aiperf_engine::Silent, &mut print)
            .await;
        Ok((outcome, printed))
    }

    /// Runs the profile's `--search-recipe` in this process, writing under `dir`.
    pub async fn run_search(&self, dir: &Path) -> anyhow::Result<aiperf_engine::SearchOutcome> {
        let argv = self.argv(Some(dir));
        let Command::Profile(p) = Cli::try_parse_from(&argv)?.command else {
            anyhow::bail!("not a profile command")
        };
        let registry = Registry::builtin();
        let Some(aiperf_config::resolve::Search::Adaptive(plan)) =
            ProfileConfig::resolve_search(&p, &argv, &registry)?
        else {
            anyhow::bail!("no adaptive --search-recipe")
        };
        let engine = aiperf_engine::Engine::new(std::sync::Arc::new(registry));
        engine
            .run_search(&plan, &aiperf_engine::Silent, &mut |_: &str| {})
            .await
    }

    /// The built binary with this command line (see [`aiperf`] for its environment).
    pub fn command(&self, artifact_dir: Option<&Path>) -> std::process::Command {
        let mut c = aiperf();
        c.args(&self.argv(artifact_dir)[1..]);
        c
    }

    /// This command line for `sh -c`, naming the built binary by its full path.
    pub fn shell_line(&self, artifact_dir: Option<&Path>) -> String {
        let mut argv = self.argv(artifact_dir);
        argv[0] = env!("CARGO_BIN_EXE_aiperf").to_string();
        argv.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn shell_quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// The built `aiperf` binary, isolated from the user's plugin configuration
/// (`XDG_CONFIG_HOME=/nonexistent`, no `AIPERF_PLUGIN_PATH`).
pub fn aiperf() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_aiperf"));
    c.env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("AIPERF_PLUGIN_PATH");
    c
}

/// The one place the tests call into the engine: `argv` (program name first) parsed and
/// resolved as `aiperf profile` does, then run with the UI off.
async fn run_in_process(registry: Registry, argv: Vec<String>) -> anyhow::Result<RunOutcome> {
    let cfg = resolve(&registry, &argv)?;
    aiperf_engine::Engine::new(std::sync::Arc::new(registry))
        .run(&cfg, &aiperf_engine::Silent)
        .await
}

/// The POST requests the mock received (the readiness probe left out), in arrival order.
pub fn posts(mock: &MockHandle) -> Vec<RecordedRequest> {
    let mut r: Vec<RecordedRequest> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    r.sort_by_key(|r| r.arrived);
    r
}

/// A dataset file from `examples/datasets/` (the files users can start from).
pub fn example(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/datasets")
        .join(name);
    assert!(p.exists(), "{}", p.display());
    p.display().to_string()
}

/// Writes `bytes` to `dir/name`; returns the path as text, for a flag value.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// Sends `sig` (e.g. `-INT`) to a child process with `kill`.
pub fn signal(child: &std::process::Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// `argv` (program name first) parsed and resolved as `aiperf profile` does.
fn resolve(registry: &Registry, argv: &[String]) -> anyhow::Result<ProfileConfig> {
    let Command::Profile(p) = Cli::try_parse_from(argv)?.command else {
        anyhow::bail!("not a profile command")
    };
    Ok(ProfileConfig::resolve(*p, argv, registry)?)
}

pub fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read_jsonl(path: PathBuf) -> Vec<Value> {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// A metric's field from the summary JSON.
pub fn stat(summary: &Value, tag: &str, field: &str) -> f64 {
    summary[tag][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{tag}.{field} missing in summary"))
}

pub fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tolerance {tol})");
}

/// What a [`fake_http`] server answers to a request path: status line (`"200 OK"`), extra
/// header lines (each ending in `\r\n`), body.
pub type FakeAnswer = (&'static str, String, Vec<u8>);

/// A one-thread HTTP/1.1 server on 127.0.0.1 (std::net, `Connection: close`) that answers each
/// GET by `answer(path)`, standing in for a real service (the Hugging Face Hub). Returns its
/// URL and the paths it was asked for, in order.
pub fn fake_http(
    answer: impl Fn(&str) -> FakeAnswer + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            seen2.lock().unwrap().push(path.clone());
            let (status, headers, body) = answer(&path);
            let head = format!(
                "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    (url, seen)
}

/// Arrival offsets (ms) of the mock's recorded requests after the first one: the server-side
/// truth of when requests were sent.
#[allow(dead_code)]
pub fn arrivals_ms(mock: &MockHandle) -> Vec<f64> {
    let reqs = mock.requests();
    let Some(first) = reqs.first().map(|r| r.arrived) else {
        return Vec::new();
    };
    reqs.iter()
        .map(|r| r.arrived.duration_since(first).as_secs_f64() * 1e3)
        .collect()
}
