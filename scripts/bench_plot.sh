#!/usr/bin/env bash
# `aiperf plot` against AIPerf 0.13's `aiperf plot` on the same run directory: one streamed run
# of N requests (default 20,000) with 2 fake GPUs and timeslices is made once; then each tool
# draws it R times (default 2), alternately, into its own copy. Prints CPU seconds (user + sys),
# wall seconds, peak RSS, and the files written. AIPerf draws its 5 default PNGs (Plotly +
# kaleido, which drives a headless Chromium); we draw every chart as PNG (`--format png`), and
# separately everything (PNG + SVG + report.html).
# Usage: cargo build --release --bins && scripts/bench_plot.sh [N] [R]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
runs=${2:-2}
ref=../shared/tools/aiperf-reference
port=18944
work=$(mktemp -d)
target/release/aiperf-mock-server --port $port --ttft 5 --itl 0.5 --fake-gpus 2 >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
target/release/aiperf profile -m mock-model -u http://127.0.0.1:$port --streaming \
  --concurrency 64 --request-count "$n" --isl 64 --osl 16 --random-seed 1 --slice-duration 1 \
  --gpu-telemetry http://127.0.0.1:$port/dcgm/metrics --ui-type none \
  --artifact-dir "$work/run" >/dev/null 2>&1
kill $mock 2>/dev/null || true
echo "run: $n requests, $(wc -l < "$work/run/profile_export.jsonl") records"
measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%U %S %e %M" -o "$work/t" "$@" >/dev/null 2>&1 || echo "$name: exit $?"
  read -r u s e m < "$work/t"
  printf '%-22s cpu %6.2f s  wall %6.2f s  peak RSS %5d MB\n' "$name" \
    "$(echo "$u + $s" | bc)" "$e" "$((m / 1024))"
}
for i in $(seq "$runs"); do
  for tool in ours-png ours-all aiperf; do
    rm -rf "$work/$tool"; cp -r "$work/run" "$work/$tool"
    case $tool in
      ours-png) measure "$tool" target/release/aiperf plot "$work/$tool" --format png ;;
      ours-all) measure "$tool" target/release/aiperf plot "$work/$tool" ;;
      aiperf) measure "$tool" "$ref" plot "$work/$tool" ;;
    esac
    if [ "$i" = "$runs" ]; then
      echo "  $(find "$work/$tool/plots" -name '*.png' | wc -l) PNG, $(find "$work/$tool/plots" -name '*.svg' | wc -l) SVG; report.html $(du -k "$work/$tool/plots/report.html" 2>/dev/null | cut -f1) KB"
    fi
  done
done
