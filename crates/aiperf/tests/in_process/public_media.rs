//! `--public-dataset` names whose rows carry media, end to end: a fake Hugging Face Hub on
//! 127.0.0.1 (as in `public_datasets.rs`) serves MMStar (Parquet with an `{bytes, path}` image
//! struct), LibriSpeech (Parquet audio structs, two files) and MMVU (a JSON file of video URLs)
//! in their repository layouts; the request bodies the mock received carry the rows' exact
//! image and audio bytes (base64 decoded and compared) and video URLs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::common::*;
use crate::fake_hub::{engine, fake_hub};
use aiperf_hub::HubConfig;
use arrow_array::builder::{BinaryBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, StringArray};
use arrow_schema::{DataType, Field, Fields};
use base64::Engine as _;
use serde_json::{json, Value};

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn parquet(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
    crate::fake_hub::parquet_file(columns)
}

/// An HF `Image()`/`Audio()` column: `struct<bytes: binary, path: string>`.
fn media_column(items: &[(&[u8], &str)]) -> ArrayRef {
    let fields = Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ]);
    let mut b = StructBuilder::from_fields(fields, items.len());
    for (bytes, path) in items {
        b.field_builder::<BinaryBuilder>(0)
            .unwrap()
            .append_value(bytes);
        b.field_builder::<StringBuilder>(1)
            .unwrap()
            .append_value(path);
        b.append(true);
    }
    Arc::new(b.finish())
}

/// A mono 16-bit PCM WAV (the 44-byte header soundfile writes).
fn wav(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// The samples of a mono 16-bit WAV (after its `data` chunk header).
fn wav_samples(bytes: &[u8]) -> Vec<i16> {
    let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
    bytes[at..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// The content parts of each request the mock received, in order.
fn parts(mock: &aiperf_mock_server::MockHandle) -> Vec<Vec<Value>> {
    posts(mock)
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let last = body["messages"].as_array().unwrap().last().unwrap().clone();
            match &last["content"] {
                Value::Array(a) => a.clone(),
                other => vec![json!({"type": "text", "text": other})],
            }
        })
        .collect()
}

fn part<'a>(parts: &'a [Value], kind: &str) -> &'a Value {
    parts
        .iter()
        .find(|p| p["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} part in {parts:?}"))
}

/// Two JPEGs (signature-valid; the server does not decode them) the requests must carry byte
/// for byte.
const JPEG_A: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 1, 2, 0xFF, 0xD9,
];
const JPEG_B: &[u8] = &[0xFF, 0xD8, 0xFF, 0xDB, 9, 8, 7, 6, 5, 0xFF, 0xD9];

const MMSTAR_README: &str = "---\nconfigs:\n- config_name: val\n  data_files:\n  - split: val\n    path: mmstar.parquet\n---\n# MMStar\n";

/// MMStar: each question with its image, the JPEG sent unchanged as a data URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mmstar_sends_each_question_with_its_image_bytes() {
    let file = parquet(vec![
        (
            "question",
            Arc::new(StringArray::from(vec!["Which fruit?", "How many?"])) as ArrayRef,
        ),
        (
            "image",
            media_column(&[(JPEG_A, "a.jpg"), (JPEG_B, "b.jpg")]),
        ),
    ]);
    let repo = HashMap::from([
        ("README.md".to_string(), MMSTAR_README.as_bytes().to_vec()),
        ("mmstar.parquet".to_string(), file),
    ]);
    let (hub_url, _seen) = fake_hub(HashMap::from([("Lin-Chen/MMStar".to_string(), repo)]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "mmstar")
        .arg("--tokenizer", "builtin")
        .osl(4)
        .request_count(2);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("run")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let sent = parts(&mock);
    assert_eq!(sent.len(), 2);
    for (ps, (text, jpeg)) in sent
        .iter()
        .zip([("Which fruit?", JPEG_A), ("How many?", JPEG_B)])
    {
        assert_eq!(part(ps, "text")["text"], text);
        let url = part(ps, "image_url")["image_url"]["url"].as_str().unwrap();
        let data = url.strip_prefix("data:image/jpeg;base64,").unwrap();
        assert_eq!(b64(data), jpeg);
    }
    mock.stop().await;
}

const LIBRISPEECH_README: &str = "---\nconfigs:\n- config_name: clean\n  data_files:\n  - split: test\n    path: clean/test/*\n  - split: validation\n    path: clean/validation/*\n- config_name: other\n  data_files:\n  - split: test\n    path: other/test/*\n---\n";

/// LibriSpeech `clean`/`test`: each clip sent as `input_audio` WAV with the same samples, the
/// 31-second clip skipped; streaming stops before the second file once the run has its rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librispeech_clips_are_sent_as_wav_and_only_needed_files_are_fetched() {
    let clip_a = wav(16000, &[0, 120, -120, 3000, -3000]);
    let clip_b = wav(8000, &[7, -7, 0]);
    let long = wav(100, &[0; 3100]);
    let first = parquet(vec![(
        "audio",
        media_column(&[
            (&clip_a, "a.flac"),
            (&long, "long.flac"),
            (&clip_b, "b.flac"),
        ]),
    )]);
    let second = parquet(vec![("audio", media_column(&[(&clip_a, "c.flac")]))]);
    let repo = HashMap::from([
        (
            "README.md".to_string(),
            LIBRISPEECH_README.as_bytes().to_vec(),
        ),
        ("clean/test/0000.parquet".to_string(), first),
        ("clean/test/0001.parquet".to_string(), second),
        (
            "clean/validation/0000.parquet".to_string(),
            b"unused".to_vec(),
        ),
        ("other/test/0000.parquet".to_string(), b"unused".to_vec()),
    ]);
    let (hub_url, seen) = fake_hub(HashMap::from([(
        "openslr/librispeech_asr".to_string(),
        repo,
    )]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "librispeech")
        .arg("--tokenizer", "builtin")
        .osl(4)
        .request_count(2);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("run")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let sent = parts(&mock);
    assert_eq!(sent.len(), 2);
    for (ps, clip) in sent.iter().zip([&clip_a, &clip_b]) {
        assert_eq!(part(ps, "text")["text"], "Transcribe this audio.");
        let audio = &part(ps, "input_audio")["input_audio"];
        assert_eq!(audio["format"], "wav");
        let got = b64(audio["data"].as_str().unwrap());
        // Below full scale, soundfile's 16-bit round trip keeps every sample: same bytes.
        assert_eq!(wav_samples(&got), wav_samples(clip));
        assert_eq!(&got, clip);
    }
    let asked = seen.lock().unwrap().clone();
    assert!(
        asked.iter().any(|p| p.ends_with("clean/test/0000.parquet")),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|p| p.ends_with("clean/test/0001.parquet")),
        "the second file is not needed for 2 requests: {asked:?}"
    );

    // The audio endpoint AIPerf pairs ASR datasets with: each clip uploaded as the form's file.
    let p = Profile::new("mock-model", &mock.url())
        .endpoint("audio_transcription")
        .arg("--public-dataset", "librispeech")
        .arg("--tokenizer", "builtin")
        .request_count(2);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("asr")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let uploads: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/audio/transcriptions")
        .collect();
    assert_eq!(uploads.len(), 2);
    for clip in [&clip_a, &clip_b] {
        assert!(
            uploads
                .iter()
                .any(|r| r.body.windows(clip.len()).any(|w| w == clip.as_slice())),
            "a {}-byte clip is not in any upload",
            clip.len()
        );
    }
    mock.stop().await;
}

/// MMVU: the question with its lettered choices and the row's video URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mmvu_sends_question_choices_and_video_url() {
    let video = "https://huggingface.co/datasets/yale-nlp/MMVU/resolve/main/videos/Art/0.mp4";
    let rows = json!([
        {"id": "a", "question": "What is painted?", "choices": {"A": "a cat", "B": "a dog", "C": ""},
         "video": video}
    ]);
    let repo = HashMap::from([("validation.json".to_string(), rows.to_string().into_bytes())]);
    let (hub_url, _seen) = fake_hub(HashMap::from([("yale-nlp/MMVU".to_string(), repo)]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "mmvu")
        .arg("--tokenizer", "builtin")
        .osl(4)
        .request_count(1);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("run")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let sent = parts(&mock);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        part(&sent[0], "text")["text"],
        "What is painted? A.a cat B.a dog"
    );
    assert_eq!(part(&sent[0], "video_url")["video_url"]["url"], video);
    mock.stop().await;
}

/// A repo that is still a loading script is refused with the reason, before any request, as
/// `datasets` 5 (AIPerf 0.13's) refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loading_script_repo_is_refused_with_the_reason() {
    let repo = HashMap::from([
        ("voxpopuli.py".to_string(), b"# script".to_vec()),
        ("data/en/test.tar.gz".to_string(), b"x".to_vec()),
    ]);
    let (hub_url, _seen) = fake_hub(HashMap::from([("facebook/voxpopuli".to_string(), repo)]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "voxpopuli")
        .arg("--tokenizer", "builtin")
        .request_count(1);
    let err = engine(&hub)
        .run(&p.config(dir.path()), &aiperf_engine::Silent)
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("facebook/voxpopuli") && msg.contains("loading script (voxpopuli.py)"),
        "{msg}"
    );
    assert!(posts(&mock).is_empty());
    mock.stop().await;
}
