//! Every built-in dataset loader (dag_jsonl, weka, tracelab and the trace formats included)
//! rejects any file cleanly (file:line errors, no panic). The first byte picks the loader, the
//! rest is the file.
#![no_main]
use std::sync::OnceLock;

use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::loader::{LoadContext, BUILTINS};
use aiperf_dataset::tokenizer::TextTokenizer;
use libfuzzer_sys::fuzz_target;

fn parts() -> &'static (TextTokenizer, Corpus) {
    static P: OnceLock<(TextTokenizer, Corpus)> = OnceLock::new();
    P.get_or_init(|| {
        let t = TextTokenizer::builtin().expect("bundled tokenizer");
        let c = Corpus::sonnets(&t);
        (t, c)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let builtin = &BUILTINS[pick as usize % BUILTINS.len()];
    let (tokenizer, corpus) = parts();
    let ctx = LoadContext {
        tokenizer,
        corpus,
        seed: 42,
        block_size: None,
        num_conversations: Some(3),
        osl_mean: None,
        replay: Default::default(),
        synthesis: Default::default(),
        agentic: Default::default(),
    };
    let dir = std::env::temp_dir().join(format!("aiperf-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("d.jsonl");
    if std::fs::write(&path, file).is_ok() {
        let _ = (builtin.load)(&path, &ctx);
    }
});
