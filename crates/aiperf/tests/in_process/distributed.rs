//! Sharded runs (`--shard INDEX/COUNT`): the shards' sends together are the single-process
//! plan, checked against a single run of the same flags.

use std::collections::HashMap;

use crate::common::*;
use serde_json::Value;

/// `session_num -> (conversation_id, intended_send_ns)` of a run's records.
fn sends(dir: &std::path::Path) -> HashMap<u64, (String, u64)> {
    read_jsonl(dir.join("profile_export.jsonl"))
        .iter()
        .map(|r| {
            let m = &r["metadata"];
            (
                m["session_num"].as_u64().unwrap(),
                (
                    m["conversation_id"].as_str().unwrap().to_string(),
                    m["intended_send_ns"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// Four shards of a seeded Poisson run: together they send sessions 0..40 exactly once, each
/// shard the sessions `i mod 4` of its index, each session the same dataset entry as in the
/// single run, at the same offsets of the one global arrival schedule (to the nanosecond
/// within a shard); each shard writes a manifest naming the same plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_send_exactly_the_single_run_s_schedule() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        Profile::chat(&mock.url())
            .request_rate(400)
            .request_count(40)
            .seed(11)
            .isl(8)
            .osl(2)
            .arg("--num-dataset-entries", 13)
    };
    let out = base().run(&dir.path().join("single")).await.unwrap();
    assert_eq!(out.request_count, 40);
    let single = sends(&dir.path().join("single"));
    assert_eq!(single.len(), 40);
    let mut seen = Vec::new();
    let mut hashes = Vec::new();
    for k in 0..4u64 {
        let d = dir.path().join(format!("shard-{k}"));
        let out = base()
            .arg("--shard", format!("{k}/4"))
            .run(&d)
            .await
            .unwrap();
        assert_eq!((out.exit_code, out.request_count), (0, 10), "shard {k}");
        let part = sends(&d);
        let first = part[&k].1;
        for (n, (conversation, intended)) in &part {
            assert_eq!(n % 4, k, "shard {k} sent session {n}");
            assert_eq!(conversation, &single[n].0, "session {n}'s dataset entry");
            assert_eq!(
                intended - first,
                single[n].1 - single[&k].1,
                "session {n}'s offset in the global schedule"
            );
        }
        seen.extend(part.keys().copied());
        let manifest: Value = read_json(d.join("shard.json"));
        assert_eq!(manifest["shard"]["index"], k);
        assert_eq!(manifest["shard"]["count"], 4);
        hashes.push(manifest["plan_hash"].as_str().unwrap().to_string());
        assert_eq!(manifest["status"], "finished");
        let records = &manifest["result"]["records"];
        assert_eq!(
            records["count"], 10,
            "every profiled request in merge_records.bin"
        );
        assert_eq!(records["complete"], true);
        assert_eq!(manifest["result"]["exit_code"], 0);
        // The context is the whole run's (rate and request count), not this shard's share.
        let phase = &manifest["result"]["report"]["input_config"]["phases"]["profiling"];
        assert_eq!(phase["requests"], 40);
        assert_eq!(phase["load"]["request_rate"], 400.0);
        assert!(d.join("merge_records.bin").is_file());
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..40).collect::<Vec<_>>());
    hashes.dedup();
    assert_eq!(hashes.len(), 1, "one plan");
    assert!(!dir.path().join("single/shard.json").exists());
    assert!(!dir.path().join("single/merge_records.bin").exists());
    mock.stop().await;
}

/// Closed loop: concurrency and the request count are dealt exactly (7 over 3 shards: 3, 2, 2)
/// and each shard's sessions are the single run's sessions `i mod 3`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_shares_add_up_to_the_whole() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    let mut sessions = Vec::new();
    for k in 0..3u64 {
        let d = dir.path().join(format!("shard-{k}"));
        let out = Profile::chat(&mock.url())
            .concurrency(5)
            .request_count(7)
            .seed(3)
            .isl(8)
            .osl(2)
            .arg("--shard", format!("{k}/3"))
            .run(&d)
            .await
            .unwrap();
        assert_eq!(out.request_count, [3, 2, 2][k as usize], "shard {k}");
        total += out.request_count;
        let summary = read_json(d.join("profile_export_aiperf.json"));
        assert_eq!(
            summary["input_config"]["phases"]["profiling"]["concurrency"], 5,
            "the echo keeps the whole run's flags"
        );
        sessions.extend(sends_closed(&d));
    }
    assert_eq!(total, 7);
    sessions.sort_unstable();
    assert_eq!(sessions, (0..7).collect::<Vec<_>>());
    mock.stop().await;
}

fn sends_closed(dir: &std::path::Path) -> Vec<u64> {
    read_jsonl(dir.join("profile_export.jsonl"))
        .iter()
        .map(|r| r["metadata"]["session_num"].as_u64().unwrap())
        .collect()
}

use aiperf_export::merge_records::{Header, MergeRecordReader, MergeRecordWriter, StoredRecord};
use aiperf_plugins::Registry;
use std::path::{Path, PathBuf};

/// Writes shard `k` of 4 of a single run's records: the records with `profiling_index mod 4
/// == k`, renumbered as that shard numbers them, in the single run's order; its manifest is the
/// single run's, relabelled. `shift_ns` moves the shard's wall clock (records, header,
/// manifest times) and records the offset that undoes it, as a shard whose clock is off would.
fn write_split_part(single: &Path, out: &Path, k: u32, shift_ns: i64) {
    std::fs::create_dir_all(out).unwrap();
    let reader = MergeRecordReader::open(&single.join("merge_records.bin")).unwrap();
    let header = reader.header();
    let sh = |v: u64| (v as i64 + shift_ns) as u64;
    let mut writer = MergeRecordWriter::create(
        &out.join("merge_records.bin"),
        Header {
            clock_wall_start_ns: sh(header.clock_wall_start_ns),
            shard_index: k,
        },
    )
    .unwrap();
    let mut n = 0;
    for rec in reader {
        let mut rec: StoredRecord = rec.unwrap();
        if rec.meta.profiling_index % 4 != u64::from(k) {
            continue;
        }
        rec.meta.profiling_index /= 4;
        rec.taken_wall_ns = sh(rec.taken_wall_ns);
        let m = &mut rec.meta;
        m.credit_issued_ns = sh(m.credit_issued_ns);
        m.intended_send_ns = m.intended_send_ns.map(sh);
        m.request_start_ns = sh(m.request_start_ns);
        m.request_ack_ns = m.request_ack_ns.map(sh);
        m.request_end_ns = sh(m.request_end_ns);
        if let Some(p) = &mut m.partial_response {
            p.response_head_ns = p.response_head_ns.map(sh);
            p.first_chunk_ns = p.first_chunk_ns.map(sh);
            p.last_chunk_ns = p.last_chunk_ns.map(sh);
        }
        let (seq, taken) = (rec.seq, rec.taken_wall_ns);
        writer.write(seq, taken, &rec.into_line()).unwrap();
        n += 1;
    }
    writer.finish().unwrap();
    let mut manifest = read_json(single.join("shard.json"));
    manifest["shard"] = serde_json::json!({"index": k, "count": 4});
    let result = &mut manifest["result"];
    result["records"]["count"] = n.into();
    // Each shard sent its own records (every request of this run ended as one).
    result["load"]["sent"] = n.into();
    for t in [
        "clock_wall_start_ns",
        "profiling_origin_wall_ns",
        "window_end_wall_ns",
        "end_wall_ns",
    ] {
        let v = result["times"][t].as_u64().unwrap();
        result["times"][t] = sh(v).into();
    }
    if shift_ns != 0 {
        manifest["clock"] = serde_json::json!({
            "reference": "test",
            "before": {"offset_ns": -shift_ns, "uncertainty_ns": 0, "samples": 1},
            "after": null
        });
    }
    std::fs::write(
        out.join("shard.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    std::fs::copy(single.join("inputs.json"), out.join("inputs.json")).unwrap();
}

fn merge_into(
    dirs: &[PathBuf],
    output: &Path,
    allow_partial: bool,
) -> anyhow::Result<aiperf_engine::MergeOutcome> {
    aiperf_engine::merge(
        &aiperf_engine::MergeOptions {
            dirs: dirs.to_vec(),
            output: output.to_path_buf(),
            allow_partial,
        },
        &Registry::builtin(),
    )
}

/// The parts of a summary a merge must reproduce bit for bit: every metric, goodput, the error
/// summary, the steady state (floats print shortest-round-trip, so equal text is equal bits).
fn measured_parts(summary: &Value) -> Value {
    let mut v = summary.clone();
    let obj = v.as_object_mut().unwrap();
    for k in [
        "benchmark_id",
        "input_config",
        "run_info",
        "load_report",
        "client_bound",
        "start_time",
        "end_time",
        "shards",
        "is_complete",
        "incomplete_reason",
    ] {
        obj.remove(k);
    }
    v
}

/// The acceptance test of the exact merge: a single run's own records, split four ways as four
/// shards would have written them, merge back to the very same numbers: every metric and
/// percentile, goodput, timeslices and the error summary bit for bit, the records file byte for
/// byte. A second split with one shard's clock 5 s off (and its measured offset in its
/// manifest) merges to the same, so the clock correction is exact too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_runs_records_split_four_ways_merge_to_the_same_run() {
    let mock = mock(2.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    let out = Profile::chat(&mock.url())
        .streaming()
        .request_rate(400)
        .request_count(200)
        .seed(3)
        .isl(16)
        .osl(6)
        .arg("--goodput", "time_to_first_token:4 inter_token_latency:2")
        .arg("--slice-duration", "0.1")
        .arg("--request-cancellation-rate", 10)
        .arg("--request-cancellation-delay", 0.003)
        .flag("--merge-records")
        .run(&single)
        .await
        .unwrap();
    assert_eq!(out.request_count + out.error_count, 200);
    assert!(out.error_count > 0, "cancellations make error records");
    let want = read_json(single.join("profile_export_aiperf.json"));

    for (case, shift) in [("aligned", 0i64), ("skewed", -5_000_000_000)] {
        let parts: Vec<PathBuf> = (0..4)
            .map(|k| dir.path().join(format!("{case}/shard-{k}")))
            .collect();
        for (k, p) in parts.iter().enumerate() {
            write_split_part(&single, p, k as u32, if k == 2 { shift } else { 0 });
        }
        let merged = dir.path().join(format!("{case}/merged"));
        let outcome = merge_into(&parts, &merged, false).unwrap();
        assert_eq!(outcome.exit_code, 0, "{case}");
        assert_eq!(
            (outcome.request_count, outcome.error_count),
            (out.request_count, out.error_count),
            "{case}"
        );
        let got = read_json(merged.join("profile_export_aiperf.json"));
        assert_eq!(measured_parts(&got), measured_parts(&want), "{case}");
        assert!(
            want["good_request_count"]["avg"].as_f64().unwrap() > 0.0,
            "goodput applies"
        );
        let slices = |d: &Path| {
            let v = read_json(d.join("profile_export_aiperf_timeslices.json"));
            v["timeslices"].clone()
        };
        assert_eq!(slices(&merged), slices(&single), "{case}: timeslices");
        assert_eq!(
            std::fs::read_to_string(merged.join("profile_export.jsonl")).unwrap(),
            std::fs::read_to_string(single.join("profile_export.jsonl")).unwrap(),
            "{case}: the records file"
        );
        let shards = &got["shards"];
        assert_eq!(shards["merged"], serde_json::json!([0, 1, 2, 3]));
        assert_eq!(shards["partial"], false);
        if shift != 0 {
            assert_eq!(shards["per_shard"][2]["clock_offset_ms"], 5000.0);
        }
        assert_eq!(
            got["load_report"]["requests_sent"],
            want["load_report"]["requests_sent"]
        );
        assert!(!got["cli_command"]
            .as_str()
            .unwrap_or("")
            .contains("--artifact-dir"));
    }
    mock.stop().await;
}

/// What the merge refuses, and what `--allow-partial` merges: shards of another plan or of
/// another dataset, a shard twice, a manifest of an unknown format are refused always; a missing
/// shard, one that never finished or one that failed only without `--allow-partial`, and with
/// it the rest are merged and the gaps reported. Nothing is written by a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_refuse_what_is_not_one_run_and_report_what_is_missing() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    Profile::chat(&mock.url())
        .request_count(40)
        .seed(5)
        .isl(8)
        .osl(2)
        .flag("--merge-records")
        .run(&single)
        .await
        .unwrap();
    mock.stop().await;
    let fresh = |name: &str| -> Vec<PathBuf> {
        (0..4)
            .map(|k| {
                let p = dir.path().join(format!("{name}/shard-{k}"));
                write_split_part(&single, &p, k, 0);
                p
            })
            .collect()
    };
    let edit = |p: &Path, f: &dyn Fn(&mut Value)| {
        let mut m = read_json(p.join("shard.json"));
        f(&mut m);
        std::fs::write(p.join("shard.json"), m.to_string()).unwrap();
    };
    let refused = |dirs: &[PathBuf], partial: bool| -> String {
        let out = dir.path().join("refused");
        let e = merge_into(dirs, &out, partial).unwrap_err().to_string();
        assert!(!out.exists(), "a refusal writes nothing: {e}");
        e
    };

    let parts = fresh("plan");
    edit(&parts[1], &|m| m["plan_hash"] = "0000000000000000".into());
    let e = refused(&parts, true);
    assert!(e.contains("shard-1") && e.contains("another plan"), "{e}");

    let parts = fresh("dataset");
    edit(&parts[3], &|m| m["result"]["dataset_hash"] = "beef".into());
    let e = refused(&parts, true);
    assert!(
        e.contains("shard-3") && e.contains("different dataset"),
        "{e}"
    );

    let parts = fresh("twice");
    let e = refused(
        &[parts[0].clone(), parts[1].clone(), parts[1].clone()],
        true,
    );
    assert!(e.contains("shard 1 is given twice"), "{e}");

    let parts = fresh("format");
    edit(&parts[0], &|m| m["format"] = 99.into());
    let e = refused(&parts, true);
    assert!(e.contains("format 99"), "{e}");

    let parts = fresh("index");
    edit(&parts[2], &|m| m["shard"]["index"] = 7.into());
    let e = refused(&parts, true);
    assert!(e.contains("shard 7 of 4 is no shard"), "{e}");

    let parts = fresh("rerun");
    edit(&parts[2], &|m| {
        m["start_at"] = "2026-12-07T18:00:00Z".into()
    });
    let e = refused(&parts, true);
    assert!(e.contains("different runs of one plan"), "{e}");

    let parts = fresh("spread");
    edit(&parts[3], &|m| {
        let t = m["result"]["times"]["profiling_origin_wall_ns"]
            .as_u64()
            .unwrap();
        m["result"]["times"]["profiling_origin_wall_ns"] = (t + 3_600_000_000_000).into();
    });
    let e = refused(&parts, true);
    assert!(e.contains("shard 3 started profiling 3600 s after"), "{e}");

    let parts = fresh("into-a-shard");
    let out = dir.path().join("into-a-shard/elsewhere");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(parts[3].join("shard.json"), out.join("shard.json")).unwrap();
    let e = merge_into(&parts[..3], &out, true).unwrap_err().to_string();
    assert!(e.contains("holds a shard's shard.json"), "{e}");

    // Missing, unfinished and damaged shards: refused without --allow-partial ...
    let parts = fresh("partial");
    // A shard that exited 1 (say, every request failed) is a measurement: merged as it is.
    edit(&parts[0], &|m| {
        m["result"]["exit_code"] = 1.into();
        m["result"]["was_cancelled"] = true.into();
        m["result"]["incomplete_reason"] = "--failed-request-threshold exceeded: 9/10".into();
    });
    edit(&parts[1], &|m| {
        m["status"] = "started".into();
        m["result"] = Value::Null;
    });
    // A records file cut before its trailer.
    let file = parts[2].join("merge_records.bin");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 16]).unwrap();
    let given = [parts[0].clone(), parts[1].clone(), parts[2].clone()];
    let e = refused(&given, false);
    assert!(
        e.contains("shard(s) 3 not given")
            && e.contains("shard 1: it did not finish")
            && e.contains("shard 2: its records file is incomplete (no trailer"),
        "{e}"
    );
    assert!(!e.contains("shard 0"), "{e}");
    assert!(e.contains("--allow-partial"), "{e}");
    // ... and with it, the rest is merged and the gaps are reported.
    let out = dir.path().join("partial/merged");
    let outcome = merge_into(&given, &out, true).unwrap();
    let count = |p: &Path| {
        read_json(p.join("shard.json"))["result"]["records"]["count"]
            .as_u64()
            .unwrap()
    };
    let merged = count(&parts[0]) + count(&parts[2]);
    assert_eq!(
        outcome.request_count + outcome.error_count,
        merged,
        "shard 2's whole records are in"
    );
    let got = read_json(out.join("profile_export_aiperf.json"));
    let shards = &got["shards"];
    assert_eq!(shards["partial"], true);
    assert_eq!(shards["merged"], serde_json::json!([0, 2]));
    assert_eq!(shards["missing"], serde_json::json!([3]));
    assert_eq!(shards["per_shard"][0]["exit_code"], 1);
    let failed: Vec<u64> = shards["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(failed, [1, 2]);
    assert_eq!(got["is_complete"], false);
    assert_eq!(
        got["incomplete_reason"],
        "shard 0: --failed-request-threshold exceeded: 9/10"
    );
    assert_eq!(
        outcome.exit_code, 1,
        "a shard that stopped itself is a failure, not an interrupt"
    );
    assert_eq!(
        read_jsonl(out.join("profile_export.jsonl")).len() as u64,
        merged
    );
    assert!(
        outcome.console.contains("shard 3: missing"),
        "{}",
        outcome.console
    );
}

/// A UDP port free right now (for shard 0's clock reference).
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The acceptance test: the same plan run once by one process and once as four
/// concurrent shards (one agreed `--start-at`, clocks measured against shard 0), merged. Counts
/// and token totals are identical, every session is the same dataset entry at the same offset
/// of the global schedule, and each latency percentile agrees within what two runs' timing
/// noise explains; the clocks (one machine) agree within the measured uncertainty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_merged_match_the_single_run() {
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        Profile::chat(&mock.url())
            .streaming()
            .request_rate(200)
            .request_count(400)
            .seed(21)
            .isl(16)
            .osl(8)
            .arg("--output-tokens-stddev", 0)
    };
    let single = dir.path().join("single");
    let one = base().run(&single).await.unwrap();
    assert_eq!((one.request_count, one.error_count), (400, 0));

    // Room for four engines' set-up on a busy 2-core machine before the agreed start.
    let start = chrono::Utc::now() + chrono::Duration::milliseconds(8000);
    let start = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let reference = format!("127.0.0.1:{}", free_udp_port());
    let parts: Vec<PathBuf> = (0..4)
        .map(|k| dir.path().join(format!("run/shard-{k}")))
        .collect();
    let shard = |k: usize| {
        base()
            .arg("--shard", format!("{k}/4"))
            .arg("--start-at", &start)
            .arg("--clock-reference", &reference)
    };
    let (s0, s1, s2, s3) = (shard(0), shard(1), shard(2), shard(3));
    let results = tokio::join!(
        s0.run(&parts[0]),
        s1.run(&parts[1]),
        s2.run(&parts[2]),
        s3.run(&parts[3])
    );
    for (k, r) in [results.0, results.1, results.2, results.3]
        .into_iter()
        .enumerate()
    {
        let r = r.unwrap();
        assert_eq!((r.exit_code, r.request_count), (0, 100), "shard {k}");
    }
    let merged = dir.path().join("run/merged");
    let outcome = merge_into(&parts, &merged, false).unwrap();
    assert_eq!((outcome.exit_code, outcome.request_count), (0, 400));

    let got = read_json(merged.join("profile_export_aiperf.json"));
    let want = read_json(single.join("profile_export_aiperf.json"));
    for tag in ["request_count", "total_isl", "total_osl"] {
        assert_eq!(stat(&got, tag, "avg"), stat(&want, tag, "avg"), "{tag}");
    }
    let a = sends(&single);
    let b = sends(&merged);
    assert_eq!(a.len(), 400);
    assert_eq!(b.len(), 400);
    // Every send at its offset of the one global schedule: each shard's sends sit on its own
    // phase start, and the shards block says where that start lies (corrected clocks), so the
    // merged offsets are the single run's plus the shards' start offsets, to the microsecond.
    let shards = &got["shards"];
    let start_ms = |k: u64| {
        shards["per_shard"][k as usize]["phase_start_offset_ms"]
            .as_f64()
            .unwrap()
    };
    for (n, (conversation, intended)) in &a {
        let (c, i) = &b[n];
        assert_eq!(c, conversation, "session {n}'s dataset entry");
        let want = (intended - a[&0].1) as f64 / 1e6 + start_ms(n % 4) - start_ms(0);
        let got_ms = (*i as i64 - b[&0].1 as i64) as f64 / 1e6;
        assert!(
            (got_ms - want).abs() < 0.01,
            "session {n}: offset {got_ms} ms, the global schedule says {want} ms: {shards}"
        );
    }
    for tag in [
        "time_to_first_token",
        "request_latency",
        "inter_token_latency",
    ] {
        for p in ["p50", "p90"] {
            let (x, y) = (stat(&got, tag, p), stat(&want, tag, p));
            let tol = (2.0f64).max(0.25 * y);
            assert!((x - y).abs() <= tol, "{tag} {p}: merged {x} vs single {y}");
        }
    }
    assert_eq!(shards["merged"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(shards["clock"]["measured"], true, "{shards}");
    for s in shards["per_shard"].as_array().unwrap() {
        let u = s["clock_uncertainty_ms"].as_f64().unwrap();
        let o = s["clock_offset_ms"].as_f64().unwrap();
        assert!(u < 5.0, "uncertainty {u} ms: {s}");
        assert!(
            o.abs() <= u + 1.0,
            "one machine: offset {o} ms within {u} ms: {s}"
        );
    }
    mock.stop().await;
}

/// Peak resident memory of this process so far (`VmHWM`), bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The merge at scale (docs/performance.md): four shards of `AIPERF_MERGE_BENCH_RECORDS`
/// (default 1,000,000) records each, built from a real run's records repeated on a moving
/// clock, merged once. Asserts that memory stays flat (the records are spilled and streamed,
/// never held), prints the time. Run with
/// `cargo test --release -p aiperf --test in_process -- --ignored --nocapture merge_at_scale`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: writes ~5 GB and takes a minute"]
async fn merge_at_scale() {
    let per_shard: u64 = std::env::var("AIPERF_MERGE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mock = mock(1.0, 0.2).await;
    let dir =
        tempfile::tempdir_in(std::env::var("AIPERF_MERGE_BENCH_DIR").unwrap_or("/tmp".into()))
            .unwrap();
    let single = dir.path().join("template");
    Profile::chat(&mock.url())
        .streaming()
        .concurrency(16)
        .request_count(256)
        .seed(1)
        .isl(64)
        .osl(16)
        .arg("--slice-duration", 1)
        .flag("--merge-records")
        .run(&single)
        .await
        .unwrap();
    mock.stop().await;
    let template: Vec<StoredRecord> = MergeRecordReader::open(&single.join("merge_records.bin"))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let span = template.last().unwrap().taken_wall_ns - template[0].taken_wall_ns + 1_000_000;
    let started = std::time::Instant::now();
    let parts: Vec<PathBuf> = (0..4u32)
        .map(|k| {
            let out = dir.path().join(format!("shard-{k}"));
            write_split_part(&single, &out, k, 0);
            let header = MergeRecordReader::open(&single.join("merge_records.bin"))
                .unwrap()
                .header();
            let mut w = MergeRecordWriter::create(
                &out.join("merge_records.bin"),
                Header {
                    clock_wall_start_ns: header.clock_wall_start_ns,
                    shard_index: k,
                },
            )
            .unwrap();
            for i in 0..per_shard {
                let mut rec = template[(i % template.len() as u64) as usize].clone();
                let lap = i / template.len() as u64;
                let d = lap * span + u64::from(k) * 1_000;
                rec.seq = i;
                rec.taken_wall_ns += d;
                rec.meta.profiling_index = i;
                rec.meta.session_num = i;
                rec.meta.request_start_ns += d;
                rec.meta.request_end_ns += d;
                rec.meta.credit_issued_ns += d;
                if let Some((s, f, e)) = &mut rec.values.timeline {
                    *s += d;
                    *f = f.map(|f| f + d);
                    *e += d;
                }
                let (seq, taken) = (rec.seq, rec.taken_wall_ns);
                w.write(seq, taken, &rec.into_line()).unwrap();
            }
            w.finish().unwrap();
            let mut m = read_json(out.join("shard.json"));
            m["result"]["records"]["count"] = per_shard.into();
            m["result"]["load"]["sent"] = per_shard.into();
            std::fs::write(out.join("shard.json"), m.to_string()).unwrap();
            out
        })
        .collect();
    println!(
        "wrote 4 x {per_shard} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let before = peak_rss();
    let started = std::time::Instant::now();
    let outcome = merge_into(&parts, &dir.path().join("merged"), false).unwrap();
    let took = started.elapsed().as_secs_f64();
    let grew = peak_rss().saturating_sub(before);
    println!(
        "merged {} records in {took:.1} s; peak RSS grew {:.0} MiB (from {:.0} MiB)",
        outcome.request_count + outcome.error_count,
        grew as f64 / 1048576.0,
        before as f64 / 1048576.0
    );
    assert_eq!(outcome.request_count + outcome.error_count, 4 * per_shard);
    assert!(grew < 512 << 20, "memory grew by {grew} bytes: not flat");
}
