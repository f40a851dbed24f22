#!/usr/bin/env bash
# Replays the hostile-user cases of issue 18 against the mock and checks every invariant:
# bad URLs and inputs, servers that never answer, interrupts, random faults and stops
# (sent == ok + errors == JSONL lines), absurd sizes, a full disk, reruns after kill -9.
# The same tests run in CI as part of `cargo test --workspace`; this runs only them.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked -p aiperf --test in_process hostile_ "$@"
cargo test --locked -p aiperf --test binary hostile:: "$@"
