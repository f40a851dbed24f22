#!/usr/bin/env bash
# Short fuzz run of every target (needs a nightly toolchain and `cargo install cargo-fuzz`).
# Always-on stable equivalents run in `cargo test` (seeded random-input tests next to each parser).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-30}"
for target in sse_frames endpoint_parse single_turn dataset_loaders manifest profile_args extra_inputs token_count; do
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds"
done
