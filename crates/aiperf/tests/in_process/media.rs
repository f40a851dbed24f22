//! Synthetic video (FFmpeg) and image sources end to end, checked in the bodies the mock
//! received: video parts decode to clips that `ffprobe` reports at the requested size, rate,
//! duration and codec; source images arrive at the requested size in the documented order; mp3
//! audio is an MP3. The ffmpeg cases print a message and pass when ffmpeg/ffprobe are absent.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use aiperf_mock_server::RecordedRequest;
use base64::Engine;
use serde_json::Value;

fn parts(r: &RecordedRequest) -> Vec<Value> {
    r.json().unwrap()["messages"][0]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Whether `ffmpeg` and `ffprobe` run; a printed message when not.
fn have_ffmpeg(test: &str) -> bool {
    let runs = |exe: &str| {
        Command::new(exe)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = runs("ffmpeg") && runs("ffprobe");
    if !ok {
        eprintln!("{test}: skipped, ffmpeg/ffprobe are not on PATH (apt-get install ffmpeg)");
    }
    ok
}

/// `ffprobe`'s streams and format of a media file, as JSON.
fn probe(file: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The data URI of every part of type `kind` in the requests, decoded and written to files.
fn clips(reqs: &[RecordedRequest], prefix: &str, dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let ps = parts(r);
        let kinds: Vec<&str> = ps.iter().map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["text", "video_url"], "request {i}");
        let url = ps[1]["video_url"]["url"].as_str().unwrap();
        let data = url
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{}", &url[..40.min(url.len())]));
        let f = dir.join(format!("clip{i}"));
        std::fs::write(&f, b64(data)).unwrap();
        files.push(f);
    }
    files
}

fn stream<'a>(probe: &'a Value, kind: &str) -> &'a Value {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} stream in {probe}"))
}

fn duration(probe: &Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_video_is_a_webm_of_the_requested_shape() {
    if !have_ffmpeg("synthetic_video_is_a_webm_of_the_requested_shape") {
        return;
    }
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .isl(8)
        .osl(2)
        .arg("--video-width", 64)
        .arg("--video-height", 48)
        .arg("--video-fps", 8)
        .arg("--video-duration", 0.5)
        .request_count(2)
        .arg("--num-dataset-entries", 2)
        .seed(5)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (2, 0));
    for f in clips(&posts(&mock), "data:video/webm;base64,", dir.path()) {
        let p = probe(&f);
        assert!(p["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("webm"));
        let v = stream(&p, "video");
        assert_eq!(
            (&v["width"], &v["height"]),
            (&Value::from(64), &Value::from(48))
        );
        assert_eq!(v["codec_name"], "vp9");
        assert_eq!(v["r_frame_rate"], "8/1");
        // 0.5 s at 8 fps: 4 frames; the WebM header carries the duration (seekable output).
        assert_close(duration(&p), 0.5, 0.07, "duration");
        assert!(
            p["streams"].as_array().unwrap().len() == 1,
            "no audio track"
        );
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_video_mp4_carries_an_audio_track() {
    if !have_ffmpeg("synthetic_video_mp4_carries_an_audio_track") {
        return;
    }
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .isl(8)
        .osl(2)
        .arg("--video-width", 80)
        .arg("--video-height", 60)
        .arg("--video-fps", 10)
        .arg("--video-duration", 1)
        .arg("--video-synth-type", "grid_clock")
        .arg("--video-format", "mp4")
        .arg("--video-audio-num-channels", 2)
        .arg("--video-audio-sample-rate", 48000)
        .request_count(1)
        .arg("--num-dataset-entries", 1)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (1, 0));
    let files = clips(&posts(&mock), "data:video/mp4;base64,", dir.path());
    let p = probe(&files[0]);
    let v = stream(&p, "video");
    assert_eq!(
        (&v["width"], &v["height"]),
        (&Value::from(80), &Value::from(60))
    );
    assert_eq!(
        (v["codec_name"].as_str(), v["r_frame_rate"].as_str()),
        (Some("vp9"), Some("10/1"))
    );
    let a = stream(&p, "audio");
    assert_eq!(a["codec_name"], "opus", "libopus is the mp4 default");
    assert_eq!(a["channels"], 2);
    assert_close(duration(&p), 1.0, 0.1, "duration");
    // The summary echoes the clip settings.
    let summary = read_json(dir.path().join("run/profile_export_aiperf.json"));
    assert_eq!(
        summary["input_config"]["datasets"][0]["video"],
        serde_json::json!({
            "batch_size": 1, "duration_s": 1.0, "fps": 10, "width": 80, "height": 60,
            "synth_type": "grid_clock", "format": "mp4", "codec": "libvpx-vp9",
            "audio": {"sample_rate_hz": 48000, "channels": 2, "depth": 16, "codec": "libopus"}
        })
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp3_audio_is_sent_as_mp3() {
    if !have_ffmpeg("mp3_audio_is_sent_as_mp3") {
        return;
    }
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .isl(8)
        .osl(2)
        .arg("--audio-length-mean", 0.5)
        .arg("--audio-format", "mp3")
        .arg("--audio-sample-rates", 22.05)
        .request_count(1)
        .arg("--num-dataset-entries", 1)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (1, 0));
    let ps = parts(&posts(&mock)[0]);
    assert_eq!(ps[1]["input_audio"]["format"], "mp3");
    let f = dir.path().join("clip.mp3");
    std::fs::write(&f, b64(ps[1]["input_audio"]["data"].as_str().unwrap())).unwrap();
    let p = probe(&f);
    let a = stream(&p, "audio");
    assert_eq!(
        (a["codec_name"].as_str(), a["sample_rate"].as_str()),
        (Some("mp3"), Some("22050"))
    );
    assert_close(duration(&p), 0.5, 0.1, "duration");
    mock.stop().await;
}

/// Width, height and the pixel at (x, y) of a PNG.
fn png_pixel(bytes: &[u8], x: u32, y: u32) -> (u32, u32, [u8; 3]) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let i = ((y * info.width + x) * 3) as usize;
    (info.width, info.height, [buf[i], buf[i + 1], buf[i + 2]])
}

/// A solid-colour 16x16 PNG.
fn solid_png(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 16, 16);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&rgb.repeat(256)).unwrap();
    w.finish().unwrap();
    out
}

/// The image parts of every request, in arrival order (one request at a time).
async fn image_run(source: &str, sampling: &str, n: usize, format: &str) -> Vec<Vec<u8>> {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .isl(8)
        .osl(2)
        .concurrency(1)
        .arg("--image-width-mean", 24)
        .arg("--image-height-mean", 18)
        .arg("--image-format", format)
        .arg("--image-source", source)
        .arg("--image-source-sampling", sampling)
        .arg("--dataset-sampling-strategy", "sequential")
        .request_count(n)
        .arg("--num-dataset-entries", n)
        .seed(9)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (n as u64, 0));
    let reqs = posts(&mock);
    mock.stop().await;
    reqs.iter()
        .map(|r| {
            let ps = parts(r);
            assert_eq!(ps[1]["type"], "image_url");
            let url = ps[1]["image_url"]["url"].as_str().unwrap();
            let prefix = format!("data:image/{format};base64,");
            b64(url.strip_prefix(&prefix).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_images_come_resized_in_sequential_and_shuffled_order() {
    let dir = tempfile::tempdir().unwrap();
    let colours = [[250, 0, 0], [0, 250, 0], [0, 0, 250]];
    for (name, c) in ["a.png", "b.png", "c.png"].iter().zip(colours) {
        write(dir.path(), name, solid_png(c));
    }
    write(dir.path(), "notes.txt", "not an image");
    let src = dir.path().to_str().unwrap();
    let colour_of = |png: &[u8]| {
        let (w, h, px) = png_pixel(png, 12, 9);
        assert_eq!((w, h), (24, 18), "resized to the requested size");
        colours
            .iter()
            .position(|c| *c == px)
            .unwrap_or_else(|| panic!("{px:?}"))
    };
    let seq: Vec<usize> = image_run(src, "sequential-cycle", 7, "png")
        .await
        .iter()
        .map(|p| colour_of(p))
        .collect();
    assert_eq!(seq, [0, 1, 2, 0, 1, 2, 0], "sorted file order, wrapping");
    let shuffled: Vec<usize> = image_run(src, "shuffle-cycle", 6, "png")
        .await
        .iter()
        .map(|p| colour_of(p))
        .collect();
    for cycle in shuffled.chunks(3) {
        let mut c = cycle.to_vec();
        c.sort();
        assert_eq!(c, [0, 1, 2], "every image once per cycle: {shuffled:?}");
    }
}

/// A JPEG's width and height from its start-of-frame marker.
fn jpeg_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..2], &[0xFF, 0xD8]);
    let mut i = 2;
    while i + 9 < b.len() {
        assert_eq!(b[i], 0xFF);
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xC0..=0xC2).contains(&marker) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("no SOF marker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_assets_come_at_the_requested_size() {
    let jpegs = image_run("assets", "random-with-replacement", 4, "jpeg").await;
    for j in &jpegs {
        assert_eq!(jpeg_size(j), (24, 18));
    }
    // The four bundled images in sorted order: rings, stripes, sunset, tiles. Sunset's sun
    // is (255, 200, 60) around (110, 70) of 160x120, so near (16.5, 10.5) at 24x18.
    let pngs = image_run("assets", "sequential-cycle", 4, "png").await;
    let sizes: Vec<(u32, u32)> = pngs
        .iter()
        .map(|p| png_pixel(p, 0, 0))
        .map(|(w, h, _)| (w, h))
        .collect();
    assert_eq!(sizes, [(24, 18); 4]);
    let (_, _, sun) = png_pixel(&pngs[2], 16, 10);
    assert!(
        sun[0] > 230 && (170..=225).contains(&sun[1]) && sun[2] < 100,
        "{sun:?}"
    );
    assert_ne!(pngs[0], pngs[1]);
}
