//! Quick timing of tokenizer counting on output-sized texts.
use aiperf_dataset::corpus::Corpus;
use aiperf_dataset::TextTokenizer;
use std::time::Instant;

fn main() {
    let t0 = Instant::now();
    let t = TextTokenizer::builtin().unwrap();
    println!("load {:?}", t0.elapsed());
    let t0 = Instant::now();
    let c = Corpus::sonnets(&t);
    println!("corpus {:?} ({} tokens)", t0.elapsed(), c.tokens.len());
    let texts: Vec<String> = (0..1000).map(|i| t.decode(&c.window(i * 97, 64))).collect();
    let t0 = Instant::now();
    let mut n = 0;
    for s in &texts {
        n += t.count(s);
    }
    let el = t0.elapsed();
    println!(
        "count: {:?} per text, {:.2} us/token ({} tokens)",
        el / 1000,
        el.as_secs_f64() * 1e6 / n as f64,
        n
    );
}
