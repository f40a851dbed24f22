#!/usr/bin/env bash
# Runs a full benchmark against the built-in mock server: builds both binaries (release), starts
# the mock on a free port, profiles it with AIPerf's flags, and stops the mock.
# Extra arguments are passed to `aiperf profile` (e.g. --concurrency 32 --request-count 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 8765)
./target/release/aiperf-mock-server --port "$port" --ttft 20 --itl 5 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
./target/release/aiperf profile --model mock-model --url "http://127.0.0.1:$port" \
  --endpoint-type chat --streaming --concurrency 8 --request-count 200 \
  --synthetic-input-tokens-mean 128 --output-tokens-mean 64 --random-seed 42 "$@"
