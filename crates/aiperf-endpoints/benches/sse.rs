//! SSE parsing throughput: framing alone (transport) and framing plus each streaming API's
//! event parsing (what the record processor does per response), on streams shaped like the
//! servers' own: 256 tokens per response, delivered in reads of 1 event and of 16 events.
//!
//! Run: `cargo bench -p aiperf-endpoints --bench sse`. divan reports time per iteration and,
//! with the counters below, events/s and bytes/s (docs/performance.md records the numbers).

use aiperf_core::Chunk;
use aiperf_endpoints::{anthropic, chat, huggingface, parse_responses, responses, Endpoint};
use aiperf_transport::sse::frame_all;
use bytes::Bytes;
use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;

const TOKENS: usize = 256;

fn main() {
    divan::main();
}

/// One response's events in the API's wire format.
fn events(api: &str) -> Vec<String> {
    (0..TOKENS)
        .map(|i| {
            let piece = format!(" tok{i}");
            match api {
                "chat" => format!(
                    "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{piece}\"}},\"finish_reason\":null}}]}}\n\n"
                ),
                "responses" => format!(
                    "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"{piece}\"}}\n\n"
                ),
                "messages" => format!(
                    "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{piece}\"}}}}\n\n"
                ),
                _ => format!(
                    "data: {{\"index\":{i},\"token\":{{\"id\":{i},\"text\":\"{piece}\",\"logprob\":0.0,\"special\":false}},\"generated_text\":null,\"details\":null}}\n\n"
                ),
            }
        })
        .collect()
}

/// The events grouped `per_read` to a network read.
fn chunks(api: &str, per_read: usize) -> Vec<Chunk> {
    events(api)
        .chunks(per_read)
        .enumerate()
        .map(|(i, group)| Chunk {
            recv_ns: i as u64,
            data: Bytes::from(group.concat()),
        })
        .collect()
}

fn bytes_of(chunks: &[Chunk]) -> usize {
    chunks.iter().map(|c| c.data.len()).sum()
}

#[divan::bench(args = [1, 16])]
fn framing_only(bencher: Bencher, per_read: usize) {
    let c = chunks("chat", per_read);
    bencher
        .counter(ItemsCount::new(TOKENS))
        .counter(BytesCount::new(bytes_of(&c)))
        .bench(|| frame_all(c.iter().map(|c| (c.recv_ns, &c.data[..]))));
}

fn endpoint(api: &str) -> Box<dyn Endpoint> {
    match api {
        "chat" => Box::new(chat::Chat),
        "responses" => Box::new(responses::Responses),
        "messages" => Box::new(anthropic::Messages),
        _ => Box::new(huggingface::Generate),
    }
}

#[divan::bench(args = ["chat", "responses", "messages", "huggingface_generate"])]
fn framing_and_parsing(bencher: Bencher, api: &str) {
    let c = chunks(api, 1);
    let e = endpoint(api);
    bencher
        .counter(ItemsCount::new(TOKENS))
        .counter(BytesCount::new(bytes_of(&c)))
        .bench(|| parse_responses(&*e, true, &c).map(|p| p.responses.len()));
}
