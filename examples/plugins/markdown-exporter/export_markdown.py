#!/usr/bin/env python3
"""Example aiperf data exporter (protocol in docs/plugins.md).

Reads begin / record / summary / end lines from stdin, writes summary.md into the artifact
directory (its working directory), and reports the file on stdout.
"""
import json
import sys

records = 0
errors = 0
summary = {}
for line in sys.stdin:
    msg = json.loads(line)
    kind = msg["type"]
    if kind == "record":
        records += 1
        errors += "error" in msg["record"]
    elif kind == "summary":
        summary = msg["summary"]

rows = ["| metric | avg | p50 | p99 | unit |", "|---|---|---|---|---|"]
for tag in ("time_to_first_token", "inter_token_latency", "request_latency", "output_token_throughput", "request_throughput"):
    m = summary.get(tag)
    if m:
        fmt = lambda k: f"{m[k]:.2f}" if k in m else ""
        rows.append(f"| {tag} | {fmt('avg')} | {fmt('p50')} | {fmt('p99')} | {m['unit']} |")
with open("summary.md", "w", encoding="utf-8") as f:
    f.write(f"# Benchmark {summary.get('benchmark_id', '')}\n\n")
    f.write(f"{records} requests recorded, {errors} failed.\n\n")
    f.write("\n".join(rows) + "\n")
print(json.dumps({"type": "file", "path": "summary.md"}))
