#!/usr/bin/env bash
# The README's report screenshots, reproducibly: a single run and a concurrency sweep with
# repeated trials against the built-in mock (TTFT and ITL grow with the requests in flight,
# two fake GPUs), drawn with `aiperf plot`, photographed by headless Chromium.
# Usage: scripts/report_screenshots.sh [OUT_DIR]   (default docs/images)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images}
mkdir -p "$out"
command -v chromium >/dev/null || { echo "chromium is needed (apt-get install chromium)" >&2; exit 1; }
cargo build --release --bins
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/aiperf-mock-server --port "$port" --ttft 20 --itl 4 --ttft-per-inflight 3 \
  --itl-per-inflight 0.4 --ttft-jitter 4 --itl-jitter 1 --error-rate 1 --fake-gpus 2 \
  --gpu-joules-per-token 0.4 >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
common=(--model mock-model --url "http://127.0.0.1:$port" --endpoint-type chat --streaming
  --isl 256 --osl 64 --random-seed 42 --ui none --gpu-telemetry "http://127.0.0.1:$port/dcgm/metrics")
./target/release/aiperf profile "${common[@]}" --concurrency 16 --request-count 600 \
  --slice-duration 1 --server-metrics-formats json csv jsonl --artifact-dir "$work/single" >/dev/null
./target/release/aiperf profile "${common[@]}" --concurrency 1,4,8,16,32 --request-count 150 \
  --num-profile-runs 2 --artifact-dir "$work/sweep" >/dev/null
for run in single sweep; do
  ./target/release/aiperf plot "$work/$run" --format html >/dev/null
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage \
    --hide-scrollbars --user-data-dir="$work/chromium" --virtual-time-budget=5000 \
    --window-size=1400,1900 --screenshot="$out/report-$run.png" \
    "file://$work/$run/plots/report.html" 2>/dev/null
  echo "$out/report-$run.png"
done
