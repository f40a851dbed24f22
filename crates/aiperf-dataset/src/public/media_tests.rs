//! The media, MMVU and Spec-Bench shapes on tiny files built here (Parquet with the Hub's
//! `{bytes, path}` struct columns), expected values worked out by hand.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Fields};
use base64::Engine;

use super::*;
use crate::corpus::Corpus;
use crate::loader::test_util::context;
use crate::TextTokenizer;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// Not a real picture: only the signature matters to a pass-through.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0xFF, 0xD9,
];

fn media_fields() -> Fields {
    Fields::from(vec![
        Field::new("bytes", DataType::Binary, true),
        Field::new("path", DataType::Utf8, true),
    ])
}

fn media_builder() -> StructBuilder {
    StructBuilder::from_fields(media_fields(), 0)
}

/// Appends `{bytes, path}` (bytes null when `None`).
fn push_media(b: &mut StructBuilder, bytes: Option<&[u8]>, path: &str) {
    let bb = b.field_builder::<BinaryBuilder>(0).unwrap();
    match bytes {
        Some(x) => bb.append_value(x),
        None => bb.append_null(),
    }
    b.field_builder::<StringBuilder>(1)
        .unwrap()
        .append_value(path);
    b.append(true);
}

fn write_parquet(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let p = dir.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

fn wav(rate: u32, samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut c = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
    c.into_inner()
}

fn run(
    name: &str,
    files: Vec<PathBuf>,
    limit: Option<usize>,
) -> Result<Vec<Conversation>, LoadError> {
    let t = TextTokenizer::builtin().unwrap();
    let c = Corpus { tokens: Vec::new() };
    let fetched = Fetched {
        commit: "c".into(),
        files,
        limit,
    };
    load(
        find(name).unwrap(),
        &fetched,
        &context(&t, &c),
        &Default::default(),
    )
}

fn jpeg_uri() -> String {
    format!("data:image/jpeg;base64,{}", B64.encode(JPEG))
}

#[test]
fn mmstar_questions_carry_their_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut img = media_builder();
    push_media(&mut img, Some(JPEG), "a.jpg");
    push_media(&mut img, Some(JPEG), "b.jpg");
    push_media(&mut img, None, "c.jpg");
    let q = StringArray::from(vec!["Which animal?", "  ", "No picture?"]);
    let p = write_parquet(
        dir.path(),
        "val.parquet",
        vec![
            ("question", Arc::new(q) as ArrayRef),
            ("image", Arc::new(img.finish()) as ArrayRef),
        ],
    );
    let got = run("mmstar", vec![p], None).unwrap();
    assert_eq!(got.len(), 2, "the blank question is skipped");
    assert_eq!(got[0].turns[0].texts, ["Which animal?"]);
    assert_eq!(got[0].turns[0].images, [jpeg_uri()]);
    assert_eq!(got[1].turns[0].texts, ["No picture?"]);
    assert!(got[1].turns[0].images.is_empty());
}

#[test]
fn vision_arena_takes_the_first_user_message_and_first_good_image() {
    let dir = tempfile::tempdir().unwrap();
    let msg = || {
        StructBuilder::from_fields(
            Fields::from(vec![
                Field::new("role", DataType::Utf8, true),
                Field::new("content", DataType::Utf8, true),
            ]),
            0,
        )
    };
    // conversation: list<list<struct<role, content>>>, each turn wrapped in its own list.
    let mut conv = ListBuilder::new(ListBuilder::new(msg()));
    for (role, content) in [
        ("assistant", "ignored"),
        ("user", "<image>\n Describe this. "),
    ] {
        let turn = conv.values();
        let m = turn.values();
        m.field_builder::<StringBuilder>(0)
            .unwrap()
            .append_value(role);
        m.field_builder::<StringBuilder>(1)
            .unwrap()
            .append_value(content);
        m.append(true);
        turn.append(true);
    }
    conv.append(true);
    // images: list<struct<bytes, path>>; the first entry is not an image.
    let mut images = ListBuilder::new(media_builder());
    push_media(images.values(), Some(b"garbage"), "x.bin");
    push_media(images.values(), Some(JPEG), "y.jpg");
    images.append(true);
    let p = write_parquet(
        dir.path(),
        "train-00000-of-00001.parquet",
        vec![
            ("conversation", Arc::new(conv.finish()) as ArrayRef),
            ("images", Arc::new(images.finish()) as ArrayRef),
        ],
    );
    let got = run("vision_arena", vec![p], None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].turns[0].texts, ["Describe this."]);
    assert_eq!(got[0].turns[0].images, [jpeg_uri()]);
}

#[test]
fn llava_uses_sharegpt_roles_and_a_single_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut conv = ListBuilder::new(StructBuilder::from_fields(
        Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]),
        0,
    ));
    for rows in [
        &[("gpt", "hello"), ("human", "<image>What is it?")][..],
        &[("gpt", "only an answer")][..],
    ] {
        for (from, value) in rows {
            let m = conv.values();
            m.field_builder::<StringBuilder>(0)
                .unwrap()
                .append_value(from);
            m.field_builder::<StringBuilder>(1)
                .unwrap()
                .append_value(value);
            m.append(true);
        }
        conv.append(true);
    }
    let mut img = media_builder();
    push_media(&mut img, Some(JPEG), "a.jpg");
    push_media(&mut img, Some(JPEG), "b.jpg");
    let p = write_parquet(
        dir.path(),
        "train.parquet",
        vec![
            ("conversations", Arc::new(conv.finish()) as ArrayRef),
            ("image", Arc::new(img.finish()) as ArrayRef),
        ],
    );
    let got = run("llava_onevision", vec![p], None).unwrap();
    // Row 2 has no human message: its first message ("only an answer") is the prompt.
    let texts: Vec<&str> = got.iter().map(|c| c.turns[0].texts[0].as_str()).collect();
    assert_eq!(texts, ["What is it?", "only an answer"]);
    assert_eq!(got[0].turns[0].images, [jpeg_uri()]);
}

#[test]
fn asr_rows_become_transcription_requests_with_wav_audio() {
    let dir = tempfile::tempdir().unwrap();
    let mut audio = media_builder();
    push_media(
        &mut audio,
        Some(&wav(16000, &[0, 1000, -1000, 32767])),
        "a.wav",
    );
    push_media(&mut audio, None, "b.flac");
    push_media(&mut audio, Some(&wav(10, &[0; 301])), "long.wav"); // 30.1 s
    push_media(&mut audio, Some(&wav(8000, &[5, -5])), "c.wav");
    let p = write_parquet(
        dir.path(),
        "test.parquet",
        vec![("audio", Arc::new(audio.finish()) as ArrayRef)],
    );
    let got = run("librispeech", vec![p.clone()], None).unwrap();
    assert_eq!(got.len(), 2);
    let t = &got[0].turns[0];
    assert_eq!(t.texts, ["Transcribe this audio."]);
    let b64 = t.audios[0].strip_prefix("wav,").unwrap();
    let mut r = hound::WavReader::new(std::io::Cursor::new(B64.decode(b64).unwrap())).unwrap();
    assert_eq!(
        (r.spec().sample_rate, r.spec().bits_per_sample),
        (16000, 16)
    );
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    // lrint(s / 32768 * 32767): only the full-scale sample moves.
    assert_eq!(samples, [0, 1000, -1000, 32766]);
    // 16-bit sources that stay below full scale come out byte for byte.
    assert_eq!(
        got[1].turns[0].audios[0],
        format!("wav,{}", B64.encode(wav(8000, &[5, -5])))
    );
    // Streaming datasets stop at the run's need.
    assert_eq!(run("ami", vec![p], Some(1)).unwrap().len(), 1);
}

#[test]
fn mmvu_joins_question_and_choices_and_keeps_the_video_url() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("validation.json");
    let rows = serde_json::json!([
        {"question": " Which tool? ", "choices": {"A": "saw", "B": "", "C": "drill"},
         "video": "https://huggingface.co/datasets/yale-nlp/MMVU/resolve/main/videos/Art/1.mp4"},
        {"question": "No video", "choices": {"A": "x"}, "video": null},
        {"question": "", "choices": {"A": "only", "B": null}, "video": "clips/2.mp4"}
    ]);
    std::fs::write(&p, rows.to_string()).unwrap();
    let got = run("mmvu", vec![p], None).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].turns[0].texts, ["Which tool? A.saw C.drill"]);
    assert_eq!(
        got[0].turns[0].videos,
        ["https://huggingface.co/datasets/yale-nlp/MMVU/resolve/main/videos/Art/1.mp4"]
    );
    assert_eq!(got[1].turns[0].texts, ["A.only"]);
    assert_eq!(got[1].turns[0].videos, ["file://clips/2.mp4"]);
}

#[test]
fn spec_bench_takes_each_rows_first_turn() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("spec_bench.jsonl");
    std::fs::write(
        &p,
        "{\"question_id\": 1, \"turns\": [\"  Write a poem.  \", \"Shorter.\"]}\n\
         {\"question_id\": 2, \"turns\": []}\n\
         {\"question_id\": 3, \"turns\": [\"\"]}\n\
         {\"question_id\": 4, \"turns\": [\"Sum 2 and 3.\"]}\n",
    )
    .unwrap();
    let got = run("spec_bench", vec![p], None).unwrap();
    let texts: Vec<&str> = got.iter().map(|c| c.turns[0].texts[0].as_str()).collect();
    assert_eq!(texts, ["Write a poem.", "Sum 2 and 3."]);
    assert!(got.iter().all(|c| c.turns.len() == 1));
}

#[test]
fn first_user_text_rules() {
    use serde_json::json;
    let m = json!([{"role": "system", "content": "sys"}, {"role": "User", "content": 5},
                   {"role": "user", "content": "later"}]);
    // The first user message decides, even when its content is not text.
    assert_eq!(first_user_text(&m, "content"), None);
    assert_eq!(
        first_user_text(&json!([[], [{"content": " <image> hi "}]]), "content").as_deref(),
        Some("hi")
    );
    assert_eq!(first_user_text(&json!("not a list"), "content"), None);
}
