#!/usr/bin/env bash
# Client CPU with server-metrics and GPU-telemetry scraping on and off: the same 20-second
# streamed run (concurrency 32, ISL 128, OSL 64) against the release mock (TTFT 10 ms, ITL 1 ms,
# its vLLM-style page and 8 fake DCGM GPUs), run alternately, client and mock pinned to separate
# cores. "on" reads both pages every 333 ms (about 60 scrapes each); "off" passes
# --no-server-metrics --no-gpu-telemetry. Prints CPU (user + sys) and requests per run.
# Usage: cargo build --release --bins && scripts/bench_scrape.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
port=18933
taskset -c 0 target/release/aiperf-mock-server --port $port --ttft 10 --itl 1 --workers 1 \
  --fake-gpus 8 >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null' EXIT
sleep 1
out=$(mktemp -d)
for i in $(seq "$runs"); do
  for mode in off on; do
    if [ "$mode" = off ]; then
      flags="--no-server-metrics --no-gpu-telemetry"
    else
      flags="--gpu-telemetry http://127.0.0.1:$port/dcgm/metrics"
    fi
    # shellcheck disable=SC2086
    /usr/bin/time -f "%U %S" -o "$out/$mode.$i" taskset -c 1 target/release/aiperf profile \
      -m mock-model -u http://127.0.0.1:$port --streaming --concurrency 32 \
      --benchmark-duration 20 --isl 128 --osl 64 --num-dataset-entries 100 --random-seed 1 \
      --ui-type none --artifact-dir "$out/run-$mode-$i" $flags >/dev/null 2>&1
    read -r u s < "$out/$mode.$i"
    reqs=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(int(d['request_count']['avg']))" \
      "$out/run-$mode-$i/profile_export_aiperf.json")
    scrapes=0
    if [ -f "$out/run-$mode-$i/server_metrics_export.json" ]; then
      scrapes=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sum(e['total_fetches'] for e in d['summary']['endpoint_info'].values()))" \
        "$out/run-$mode-$i/server_metrics_export.json")
    fi
    gpu_reads=0
    if [ -f "$out/run-$mode-$i/gpu_telemetry_export.jsonl" ]; then
      gpu_reads=$(python3 -c "import json,sys; print(len({json.loads(l)['timestamp_ns'] for l in open(sys.argv[1])}))" \
        "$out/run-$mode-$i/gpu_telemetry_export.jsonl")
    fi
    echo "$mode run $i: client CPU $(echo "$u + $s" | bc) s, $reqs requests, $scrapes server-metrics fetches, $gpu_reads GPU pages"
  done
done
