//! SSE framing never panics, and splitting a body anywhere gives the same messages (the reads
//! are stamped alike, so only framing could differ).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let whole = aiperf_transport::sse::frame_all([(0, body)]);
    let at = cut as usize % (body.len() + 1);
    let split = aiperf_transport::sse::frame_all([(0, &body[..at]), (0, &body[at..])]);
    assert_eq!(whole, split, "split at {at}");
    let bytewise = aiperf_transport::sse::frame_all(body.iter().map(|b| (0, std::slice::from_ref(b))));
    assert_eq!(whole, bytewise);
});
