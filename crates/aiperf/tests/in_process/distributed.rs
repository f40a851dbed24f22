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
        assert_eq!(records["count"], 10, "every profiled request in merge_records.bin");
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
