//! Prompt generation and tokenization with the bundled o200k_base tokenizer (issue 9).
//!
//! `cargo bench -p aiperf-dataset --bench prompts`

use std::sync::OnceLock;

use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::synthetic::PromptGenerator;
use aiperf_dataset::tokenizer::TextTokenizer;
use divan::Bencher;

fn main() {
    divan::main();
}

fn tokenizer() -> &'static TextTokenizer {
    static T: OnceLock<TextTokenizer> = OnceLock::new();
    T.get_or_init(|| TextTokenizer::builtin().expect("bundled tokenizer"))
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| Corpus::sonnets(tokenizer()))
}

/// Decompressing and parsing the bundled tokenizer.json (part of launch time).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn load_builtin_tokenizer() -> TextTokenizer {
    TextTokenizer::builtin().expect("bundled tokenizer")
}

/// Tokenizing the bundled corpus into the window prompts are cut from.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn build_corpus(bencher: Bencher) {
    let t = tokenizer();
    bencher.bench(|| Corpus::sonnets(t));
}

/// One exact-length synthetic prompt (decode, re-encode, correct).
#[divan::bench(args = [128, 1024])]
fn prompt(bencher: Bencher, isl: usize) {
    let g = PromptGenerator::new(tokenizer(), corpus());
    let mut start = 0usize;
    bencher.bench_local(|| {
        start = (start + 7919) % 100_000;
        g.prompt(start, isl)
    });
}

/// Counting the tokens of a text (what the record processor does per answer without server
/// usage), by output length.
#[divan::bench(args = [64, 512])]
fn count_tokens(bencher: Bencher, tokens: usize) {
    bench_count(bencher, tokens, TextTokenizer::count);
}

/// The same count through the whole `tokenizers` pipeline (what `count` did before its fast
/// path; the reference the fast path is tested against).
#[divan::bench(args = [64, 512])]
fn count_tokens_by_pipeline(bencher: Bencher, tokens: usize) {
    bench_count(bencher, tokens, TextTokenizer::count_by_pipeline);
}

/// Times `count` on one exact-length corpus prompt of `tokens` tokens.
fn bench_count(bencher: Bencher, tokens: usize, count: fn(&TextTokenizer, &str) -> usize) {
    let text = PromptGenerator::new(tokenizer(), corpus()).prompt(1234, tokens);
    let t = tokenizer();
    bencher
        .counter(divan::counter::ItemsCount::new(tokens))
        .bench(|| count(t, divan::black_box(&text)));
}
