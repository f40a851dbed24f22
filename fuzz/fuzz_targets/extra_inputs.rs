//! `--extra-inputs` parsing and endpoint response parsing never panic.
#![no_main]
use aiperf_endpoints::Endpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = aiperf_config::resolve::parse_extra_inputs(&[text.to_string()]);
        let _ = aiperf_endpoints::chat::Chat.parse_json(text);
        let _ = aiperf_endpoints::completions::Completions.parse_json(text);
    }
});
