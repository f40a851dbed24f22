#!/usr/bin/env python3
"""Example aiperf dataset loader (protocol in docs/plugins.md).

Reads one JSON request line from stdin, loads the CSV file it names, and writes one conversation
per line to stdout. Problems are reported as {"type": "error", "message": ...} lines.
"""
import csv
import json
import sys

request = json.loads(sys.stdin.readline())
if request.get("protocol") != 1 or request.get("type") != "load":
    print(json.dumps({"type": "error", "message": f"unsupported request {request!r}"}))
    sys.exit(0)

path = request["input_file"]
with open(path, newline="", encoding="utf-8") as f:
    for line_no, row in enumerate(csv.DictReader(f), start=2):
        prompt = (row.get("prompt") or "").strip()
        if not prompt:
            print(json.dumps({"type": "error", "message": f"{path}:{line_no}: empty 'prompt'"}))
            continue
        turn = {"texts": [prompt]}
        if row.get("max_tokens"):
            turn["max_tokens"] = int(row["max_tokens"])
        print(json.dumps({"session_id": f"csv_{line_no - 1:06d}", "turns": [turn]}))
