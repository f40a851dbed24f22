//! A sharded run end to end through the binary, as the Kubernetes and Slurm scripts drive it:
//! shard processes started apart with one `--start-at` and a clock reference, `aiperf watch
//! --once` on the run directory, `aiperf merge` of the run directory, and the refusal of an
//! incomplete run without `--allow-partial`.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_processes_are_watched_and_merged() {
    let mock = mock(1.0, 0.2).await;
    let run = tempfile::tempdir().unwrap();
    let start = (chrono::Utc::now() + chrono::Duration::seconds(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let children: Vec<std::process::Child> = (0..2)
        .map(|k| {
            Profile::chat(&mock.url())
                .streaming()
                .request_rate(100)
                .request_count(60)
                .seed(9)
                .isl(8)
                .osl(4)
                .ui("none")
                .arg("--shard", format!("{k}/2"))
                .arg("--start-at", &start)
                .arg("--clock-reference", format!("127.0.0.1:{port}"))
                .command(Some(&run.path().join(format!("shard-{k}"))))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (k, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shard {k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let watch = aiperf()
        .arg("watch")
        .arg(run.path())
        .arg("--once")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&watch.stdout);
    assert!(watch.status.success(), "{text}");
    assert!(
        text.contains("2 shards") && text.contains("aiperf merge"),
        "{text}"
    );

    let merged = run.path().join("merged");
    let out = aiperf()
        .arg("merge")
        .arg(run.path())
        .arg("--output")
        .arg(&merged)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Merged 2 of 2 shard(s)"), "{stdout}");
    let summary = read_json(merged.join("profile_export_aiperf.json"));
    assert_eq!(stat(&summary, "request_count", "avg"), 60.0);
    assert_eq!(summary["shards"]["clock"]["measured"], true);
    assert_eq!(read_jsonl(merged.join("profile_export.jsonl")).len(), 60);
    let indices: std::collections::BTreeSet<u64> = read_jsonl(merged.join("profile_export.jsonl"))
        .iter()
        .map(|r| r["metadata"]["profiling_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, (0..60).collect(), "numbered as in the whole run");

    // One shard alone is not the run: refused, in one line naming the way out.
    let out = aiperf()
        .arg("merge")
        .arg(run.path().join("shard-0"))
        .arg("--output")
        .arg(run.path().join("alone"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("shard(s) 1 not given") && stderr.contains("--allow-partial"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!run.path().join("alone").exists());
    mock.stop().await;
}
