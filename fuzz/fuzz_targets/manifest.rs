//! Plugin manifests are validated without panicking, whatever the YAML.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut r = aiperf_plugins::Registry::builtin();
        let _ = r.load_plugins(text, "fuzz.yaml", None, false);
    }
});
