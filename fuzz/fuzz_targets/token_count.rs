//! The fast token count equals the `tokenizers` pipeline's on any text (the bundled o200k
//! tokenizer, whose split regex runs on the `regex` crate on the fast path).
#![no_main]
use std::sync::OnceLock;

use aiperf_dataset::tokenizer::TextTokenizer;
use libfuzzer_sys::fuzz_target;

fn tokenizer() -> &'static TextTokenizer {
    static T: OnceLock<TextTokenizer> = OnceLock::new();
    T.get_or_init(|| TextTokenizer::builtin().expect("bundled tokenizer"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = tokenizer();
    assert_eq!(t.count(&text), t.count_by_pipeline(&text), "{text:?}");
});
