#!/usr/bin/env bash
# Client CPU with the dashboard on and off: the same 20,000 streamed requests (concurrency 32,
# ISL 128, OSL 64) against the release mock (TTFT = ITL = 0), run alternately inside a tmux
# pseudo-terminal (the dashboard needs one), client and mock pinned to separate cores.
# Usage: cargo build --release --bins && scripts/bench_dashboard.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
port=18931
taskset -c 0 target/release/aiperf-mock-server --port $port --fast --workers 1 >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; tmux -L bench kill-server 2>/dev/null || true' EXIT
sleep 1
out=$(mktemp -d)
for i in $(seq "$runs"); do
  for ui in none dashboard; do
    rm -f "$out/done"
    tmux -L bench new-session -d -s b -x 120 -y 40 \
      "sh -c '/usr/bin/time -f \"%U %S\" -o $out/$ui.$i taskset -c 1 target/release/aiperf profile -m mock-model \
       -u http://127.0.0.1:$port --streaming --concurrency 32 --request-count 20000 --isl 128 --osl 64 \
       --num-dataset-entries 100 --random-seed 1 --ui-type $ui --artifact-dir $out/run-$ui >/dev/null 2>&1; touch $out/done'"
    while [ ! -f "$out/done" ]; do sleep 0.5; done
    tmux -L bench kill-server 2>/dev/null || true
    read -r u s < "$out/$ui.$i"
    echo "$ui run $i: client CPU $(echo "$u + $s" | bc) s for 20000 requests (user $u, sys $s)"
  done
done
