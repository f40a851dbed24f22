//! Synthetic workload shaping end to end: `--seq-dist`, `--random-range-ratio`, `--prompt-corpus`,
//! `--cache-bust`, checked in the bodies the mock received.

use std::collections::{BTreeMap, HashSet};

use crate::common::*;
use aiperf_dataset::TextTokenizer;
use aiperf_mock_server::RecordedRequest;
use serde_json::Value;

fn body(r: &RecordedRequest) -> Value {
    r.json().expect("a JSON body")
}

/// The message of `role` in a chat body (the first one).
fn content(r: &RecordedRequest, role: &str) -> Option<String> {
    body(r)["messages"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == role)
        .and_then(|m| m["content"].as_str().map(str::to_string))
}

fn user_text(r: &RecordedRequest) -> String {
    content(r, "user").expect("a user message with text")
}

/// `n` requests over `n` synthetic conversations, sent one at a time (so with single-turn
/// conversations request k is `session_00000k`).
fn sequential(url: &str, n: usize, seed: u64) -> Profile {
    sessions(url, n, n, seed)
}

/// `requests` requests over `entries` synthetic conversations, one at a time, in dataset order.
fn sessions(url: &str, entries: usize, requests: usize, seed: u64) -> Profile {
    Profile::chat(url)
        .concurrency(1)
        .request_count(requests)
        .arg("--num-dataset-entries", entries)
        .arg("--dataset-sampling-strategy", "sequential")
        .seed(seed)
}

async fn run_ok(p: Profile, requests: u64) {
    let dir = tempfile::tempdir().unwrap();
    let out = p.run(&dir.path().join("run")).await.unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!((out.request_count, out.error_count), (requests, 0));
}

/// Every request is one of the two pairs (exact ISL, its OSL as max_completion_tokens), and
/// each pair's share is within 5 sd of 50 %: Binomial(300, 0.5) has sd = sqrt(75) ≈ 8.7, so
/// 150 ± 43.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_dist_sends_only_its_pairs_in_proportion() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let p = Profile::chat(&url)
        .concurrency(8)
        .request_count(300)
        .arg("--num-dataset-entries", 300)
        .arg("--seq-dist", "128,16:50;512,32:50")
        .seed(7);
    run_ok(p, 300).await;
    let t = TextTokenizer::builtin().unwrap();
    let mut pairs: BTreeMap<(usize, u64), usize> = BTreeMap::new();
    for r in posts(&mock) {
        let isl = t.count(&user_text(&r));
        let osl = body(&r)["max_completion_tokens"].as_u64().unwrap();
        *pairs.entry((isl, osl)).or_default() += 1;
    }
    let keys: Vec<(usize, u64)> = pairs.keys().copied().collect();
    assert_eq!(keys, vec![(128, 16), (512, 32)], "{pairs:?}");
    let short = pairs[&(128, 16)];
    assert!((107..=193).contains(&short), "{pairs:?}");
    assert_eq!(short + pairs[&(512, 32)], 300);
}

/// vLLM style, `--isl 100 --osl 40 --random-range-ratio 0.2`: ISL in [floor(80), ceil(120)],
/// OSL in [32, 48] (o200k adds no special tokens); with 200 draws both ends of each window are
/// approached (a uniform draw misses the outer fifth 200 times with probability 0.8^200).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_ratio_lengths_stay_in_the_vllm_window() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let p = Profile::chat(&url)
        .concurrency(8)
        .request_count(200)
        .arg("--num-dataset-entries", 200)
        .isl(100)
        .osl(40)
        .arg("--random-range-ratio", "0.2")
        .seed(5);
    run_ok(p, 200).await;
    let t = TextTokenizer::builtin().unwrap();
    let (mut isls, mut osls) = (Vec::new(), Vec::new());
    for r in posts(&mock) {
        isls.push(t.count(&user_text(&r)));
        osls.push(body(&r)["max_completion_tokens"].as_u64().unwrap());
    }
    assert!(isls.iter().all(|i| (80..=120).contains(i)), "{isls:?}");
    assert!(osls.iter().all(|o| (32..=48).contains(o)), "{osls:?}");
    assert!(isls.iter().any(|&i| i < 88) && isls.iter().any(|&i| i > 112));
    assert!(osls.iter().any(|&o| o < 36) && osls.iter().any(|&o| o > 44));
}

/// SGLang style, ratio 0.5: ISL in [max(1, int(50)), 100], OSL in [int(20), 40].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_ratio_lengths_stay_in_the_sglang_window() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let p = Profile::chat(&url)
        .concurrency(8)
        .request_count(100)
        .arg("--num-dataset-entries", 100)
        .isl(100)
        .osl(40)
        .arg("--random-corpus-style", "sglang")
        .arg("--random-range-ratio", "0.5")
        .seed(5);
    run_ok(p, 100).await;
    let t = TextTokenizer::builtin().unwrap();
    for r in posts(&mock) {
        let isl = t.count(&user_text(&r));
        let osl = body(&r)["max_completion_tokens"].as_u64().unwrap();
        assert!(
            (50..=100).contains(&isl) && (20..=40).contains(&osl),
            "{isl} {osl}"
        );
    }
}

/// `--prompt-corpus coding` cuts exact-length prompts out of code (lines kept, so prompts
/// span newlines); sonnet prompts are prose joined by spaces and never do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coding_corpus_prompts_are_code_of_the_exact_length() {
    let t = TextTokenizer::builtin().unwrap();
    for (corpus, has_newlines) in [("coding", true), ("sonnet", false)] {
        let mock = mock(0.0, 0.0).await;
        let url = mock.url();
        run_ok(
            sequential(&url, 20, 3)
                .isl(200)
                .arg("--prompt-corpus", corpus),
            20,
        )
        .await;
        let texts: Vec<String> = posts(&mock).iter().map(user_text).collect();
        assert!(texts.iter().all(|x| t.count(x) == 200), "{corpus}");
        assert_eq!(
            texts.iter().filter(|x| x.contains('\n')).count() == texts.len(),
            has_newlines,
            "{corpus}: {texts:?}"
        );
    }
}

/// `--prompt-corpus random`: runs of vocabulary tokens, different per prompt, about `--isl`
/// long (random ids do not always re-encode to the same count; AIPerf corrects the same way,
/// best effort).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_corpus_prompts_are_vocabulary_runs() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    run_ok(
        sequential(&url, 20, 3)
            .isl(64)
            .arg("--prompt-corpus", "random"),
        20,
    )
    .await;
    let t = TextTokenizer::builtin().unwrap();
    let texts: Vec<String> = posts(&mock).iter().map(user_text).collect();
    let distinct: HashSet<&String> = texts.iter().collect();
    assert_eq!(distinct.len(), 20);
    let exact = texts.iter().filter(|x| t.count(x) == 64).count();
    assert!(exact >= 16, "{exact} of 20 exact");
    assert!(texts.iter().all(|x| t.count(x).abs_diff(64) <= 8));
}

/// The digest of conversation k under seed 11: SHA-256 of "11:k:k:session_00000k", first 12
/// hex digits (computed with `printf '11:0:0:session_000000' | sha256sum`, ...).
const SEED_11_DIGESTS: [&str; 6] = [
    "24869220e2fc",
    "719a583ff4cb",
    "bc85ab7c0fd6",
    "470ae70c99e5",
    "ad1b787e462a",
    "7407739ee9bb",
];

/// first_turn_prefix / first_turn_suffix: each conversation's user message carries its own
/// marker at token 0 or at the end, and the marked prompt keeps about `--isl` tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_turn_markers_are_per_conversation() {
    let t = TextTokenizer::builtin().unwrap();
    for target in ["first_turn_prefix", "first_turn_suffix"] {
        let mock = mock(0.0, 0.0).await;
        let url = mock.url();
        run_ok(
            sequential(&url, 6, 11).isl(64).arg("--cache-bust", target),
            6,
        )
        .await;
        for (k, r) in posts(&mock).iter().enumerate() {
            let text = user_text(r);
            let rid = format!("[rid:{}]", SEED_11_DIGESTS[k]);
            if target == "first_turn_prefix" {
                assert!(text.starts_with(&format!("{rid}\n\n")), "{k}: {text:?}");
            } else {
                assert!(text.ends_with(&format!("\n\n{rid}")), "{k}: {text:?}");
            }
            assert_eq!(text.matches("[rid:").count(), 1);
            // The body gives up the marker's average cost (eight sample digests, ~9 tokens);
            // this digest's own count and the seam's merges move the total by a few tokens.
            assert!(t.count(&text).abs_diff(64) <= 3, "{}", t.count(&text));
        }
    }
}

/// A conversation sent again gets a fresh marker: session k on conversation k mod 3 carries
/// SHA-256("11:k:k:session_00000{k mod 3}")[..12] (`printf '11:3:3:session_000000' |
/// sha256sum`, ...), as AIPerf mints one per session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_sent_again_gets_its_sessions_own_marker() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    run_ok(
        sessions(&url, 3, 6, 11)
            .isl(32)
            .arg("--cache-bust", "first_turn_prefix"),
        6,
    )
    .await;
    let want = [
        SEED_11_DIGESTS[0],
        SEED_11_DIGESTS[1],
        SEED_11_DIGESTS[2],
        "5cf346b2481d",
        "ceff23cd927b",
        "c7ec083dbf51",
    ];
    let texts: Vec<String> = posts(&mock).iter().map(user_text).collect();
    for (k, text) in texts.iter().enumerate() {
        assert!(
            text.starts_with(&format!("[rid:{}]\n\n", want[k])),
            "{k}: {text:?}"
        );
    }
    // The prompt after the marker is the conversation's own.
    let rest = |t: &str| t.split_once("\n\n").map(|(_, r)| r.to_string());
    assert_eq!(rest(&texts[0]), rest(&texts[3]));
    mock.stop().await;
}

/// system_prefix / system_suffix with a system prompt mark the system message (at token 0 or
/// after it), not the user message; without one they fall back to the user message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_markers_land_on_the_system_message() {
    let mock1 = mock(0.0, 0.0).await;
    let url = mock1.url();
    run_ok(
        sequential(&url, 3, 11)
            .isl(16)
            .arg("--system-prompt", "Be brief.")
            .arg("--cache-bust", "system_prefix"),
        3,
    )
    .await;
    for (k, r) in posts(&mock1).iter().enumerate() {
        let want = format!("[rid:{}]\n\nBe brief.", SEED_11_DIGESTS[k]);
        assert_eq!(content(r, "system").as_deref(), Some(want.as_str()));
        assert!(!user_text(r).contains("[rid:"));
    }

    let t = TextTokenizer::builtin().unwrap();
    let mock2 = mock(0.0, 0.0).await;
    let url = mock2.url();
    run_ok(
        sequential(&url, 3, 11)
            .isl(16)
            .arg("--shared-system-prompt-length", 40)
            .arg("--cache-bust", "system_suffix"),
        3,
    )
    .await;
    let systems: Vec<String> = posts(&mock2)
        .iter()
        .map(|r| content(r, "system").unwrap())
        .collect();
    for (k, s) in systems.iter().enumerate() {
        let marker = format!("\n\n[rid:{}]", SEED_11_DIGESTS[k]);
        assert!(s.ends_with(&marker), "{s:?}");
        // The shared prompt is shortened by the marker's tokens: the same text before it in
        // every conversation, and about 40 tokens in all.
        assert_eq!(
            s.strip_suffix(&marker),
            systems[0].strip_suffix(&format!("\n\n[rid:{}]", SEED_11_DIGESTS[0]))
        );
        assert!(t.count(s).abs_diff(40) <= 2, "{}", t.count(s));
    }

    let mock3 = mock(0.0, 0.0).await;
    let url = mock3.url();
    run_ok(
        sequential(&url, 2, 11)
            .isl(16)
            .arg("--cache-bust", "system_prefix"),
        2,
    )
    .await;
    for (k, r) in posts(&mock3).iter().enumerate() {
        assert_eq!(content(r, "system"), None);
        let want = format!("[rid:{}]\n\n", SEED_11_DIGESTS[k]);
        assert!(
            user_text(r).starts_with(&want),
            "falls back to the user message"
        );
    }
}

/// In a multi-turn conversation only the first user message is marked; later turns carry it
/// (as history) unchanged, and their own messages are clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marker_rides_in_history_only() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    run_ok(
        sessions(&url, 2, 6, 11)
            .isl(16)
            .arg("--conversation-turn-mean", 3)
            .arg("--cache-bust", "first_turn_prefix"),
        6,
    )
    .await;
    for (n, r) in posts(&mock).iter().enumerate() {
        let msgs = body(r)["messages"].as_array().unwrap().clone();
        let users: Vec<&str> = msgs
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert_eq!(users.len(), n % 3 + 1);
        let rid = format!("[rid:{}]\n\n", SEED_11_DIGESTS[n / 3]);
        assert!(users[0].starts_with(&rid), "{n}: {users:?}");
        assert!(users[1..].iter().all(|u| !u.contains("[rid:")), "{users:?}");
    }
}

/// Warm-up isolation targets: profiling requests carry no marker at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_isolation_leaves_profiling_clean() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    run_ok(
        sequential(&url, 4, 11)
            .isl(16)
            .arg("--system-prompt", "Be brief.")
            .arg("--cache-bust", "warmup_isolation_system"),
        4,
    )
    .await;
    for r in posts(&mock) {
        assert_eq!(content(&r, "system").as_deref(), Some("Be brief."));
        assert!(!user_text(&r).contains("[warmup]"));
    }
}

/// Warm-up requests carry `[warmup]\n\n` before the system message, profiling ones do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_isolation_marks_warmup_requests() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    run_ok(
        sequential(&url, 4, 11)
            .isl(16)
            .arg("--warmup-request-count", 2)
            .arg("--system-prompt", "Be brief.")
            .arg("--cache-bust", "warmup_isolation_system"),
        4,
    )
    .await;
    let systems: Vec<String> = posts(&mock)
        .iter()
        .map(|r| content(r, "system").unwrap())
        .collect();
    assert_eq!(systems.len(), 6);
    assert!(systems[..2].iter().all(|s| s == "[warmup]\n\nBe brief."));
    assert!(systems[2..].iter().all(|s| s == "Be brief."));
}

/// The same seed gives byte-identical bodies (lengths, corpus offsets and markers); another
/// seed does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_bodies() {
    async fn bodies(seed: u64) -> Vec<Vec<u8>> {
        let mock = mock(0.0, 0.0).await;
        let url = mock.url();
        run_ok(
            sequential(&url, 8, seed)
                .arg("--seq-dist", "[(32|4,8|2):30,(64,16):70]")
                .arg("--prompt-corpus", "coding")
                .arg("--cache-bust", "first_turn_suffix"),
            8,
        )
        .await;
        posts(&mock).into_iter().map(|r| r.body.to_vec()).collect()
    }
    let a = bodies(21).await;
    assert_eq!(a, bodies(21).await);
    assert_ne!(a, bodies(22).await);
}
