//! The single_turn loader rejects any file cleanly (file:line errors, no panic).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("aiperf-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("d.jsonl");
    if std::fs::write(&path, data).is_ok() {
        let _ = aiperf_dataset::loader::single_turn(&path);
    }
});
