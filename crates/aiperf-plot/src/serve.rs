//! `aiperf plot --serve`: the report on a local port, redrawn from the files on every request,
//! refreshing itself while a run in the paths is still going (records but no summary yet).
//!
//! A blocking `std::net` server on purpose: a viewer or two on localhost, a thread per
//! connection (an idle one stalls nobody), no runtime to start; the report itself is one
//! self-contained page.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

use crate::build::{build, Options};
use crate::error::PlotError;

/// Seconds between reloads while a run is still going.
const REFRESH_S: u32 = 5;

/// Serves until the process is stopped. Prints the URL first (port 0 picks a free port).
pub fn serve(paths: &[PathBuf], opts: &Options, host: &str, port: u16) -> Result<(), PlotError> {
    let listener = TcpListener::bind((host, port))
        .map_err(|e| PlotError::Serve(format!("cannot listen on {host}:{port}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| PlotError::Serve(e.to_string()))?;
    println!("Serving the report on http://{addr}/ (Ctrl-C to stop)");
    std::thread::scope(|scope| {
        for stream in listener.incoming() {
            let Ok(s) = stream else { continue };
            // A viewer that hangs up mid-answer costs nothing but that answer.
            scope.spawn(move || answer(s, paths, opts));
        }
    });
    Ok(())
}

/// One request: `/` the report, `/data.json` its data, anything else 404.
fn answer(mut stream: TcpStream, paths: &[PathBuf], opts: &Options) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Headers are read and ignored.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET");
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let (status, kind, body) = match path {
        "/" | "/report.html" => page(paths, opts),
        "/data.json" => match build(paths, opts) {
            Ok(d) => (
                "200 OK",
                "application/json",
                serde_json::to_string(&d).unwrap_or_default(),
            ),
            Err(e) => ("503 Service Unavailable", "text/plain", e.to_string()),
        },
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

/// The report, reloading itself while a run is unfinished; a waiting page when none is found.
fn page(paths: &[PathBuf], opts: &Options) -> (&'static str, &'static str, String) {
    let refresh = format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_S}\">");
    match build(paths, opts) {
        Ok(data) => {
            let running = data.failed_runs.iter().any(|f| f.reason.contains("still running"));
            match crate::report::html(&data) {
                Ok(html) if running => ("200 OK", "text/html", html.replacen("<head>", &format!("<head>{refresh}"), 1)),
                Ok(html) => ("200 OK", "text/html", html),
                Err(e) => ("500 Internal Server Error", "text/plain", e.to_string()),
            }
        }
        Err(e) => (
            "200 OK",
            "text/html",
            format!("<!doctype html><html><head>{refresh}<meta charset=\"utf-8\"><title>aiperf report: waiting</title></head><body><p>Waiting for results: {}</p></body></html>", escape(&e.to_string())),
        ),
    }
}

/// Text safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &std::path::Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    const REFRESH: &str = "http-equiv=\"refresh\"";

    #[test]
    fn the_page_reloads_itself_only_while_a_run_is_unfinished() {
        let t = tempfile::tempdir().expect("tempdir");
        let paths = [t.path().to_path_buf()];
        let opts = Options::default();
        // Nothing finished yet: a waiting page that reloads.
        write(&t.path().join("live/profile_export.jsonl"), "");
        let (_, _, body) = page(&paths, &opts);
        assert!(
            body.contains("Waiting for results") && body.contains(REFRESH),
            "{body}"
        );
        // One finished run beside the live one: the report, still reloading.
        write(
            &t.path().join("done/profile_export_aiperf.json"),
            r#"{"input_config": {}, "request_latency": {"unit": "ms", "avg": 1.0}}"#,
        );
        write(
            &t.path().join("done/profile_export.jsonl"),
            r#"{"metadata": {"request_start_ns": 1, "request_end_ns": 2000000}, "metrics": {"request_latency": {"value": 2.0}}}"#,
        );
        let (_, _, body) = page(&paths, &opts);
        assert!(body.contains("aiperf-report-data") && body.contains(REFRESH));
        // All finished: no reload (it would reset the reader's zoom).
        std::fs::remove_dir_all(t.path().join("live")).expect("rm");
        let (status, _, body) = page(&paths, &opts);
        assert_eq!(status, "200 OK");
        assert!(body.contains("aiperf-report-data") && !body.contains(REFRESH));
    }
}
