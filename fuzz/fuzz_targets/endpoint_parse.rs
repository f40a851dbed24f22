//! Every built-in endpoint's response parsing never panics, on whole bodies and streams.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let meta: aiperf_endpoints::EndpointMetadata = serde_json::from_value(serde_json::json!({
        "endpoint_path": "/x", "supports_streaming": true, "produces_tokens": true,
        "tokenizes_input": true,
        "template": {"body": "{\"text\": {{ text|tojson }}}", "response_field": "text"}
    }))
    .expect("metadata");
    let text = String::from_utf8_lossy(data);
    let chunks = [aiperf_core::Chunk { recv_ns: 1, data: bytes::Bytes::copy_from_slice(data) }];
    for (name, _) in aiperf_endpoints::BUILTINS {
        let Ok(e) = aiperf_endpoints::build(name, &meta, &Default::default()) else { continue };
        let _ = e.parse_json(&text);
        let _ = e.parse_event(&text, true);
        let _ = aiperf_endpoints::parse_responses(&*e, true, &chunks);
        let _ = aiperf_endpoints::parse_responses(&*e, false, &chunks);
    }
});
