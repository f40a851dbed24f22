#!/usr/bin/env python3
"""Cost of the external-plugin protocol (docs/plugins.md), against the release mock server.

- Loader: the same 100,000 prompts loaded through the built-in `single_turn` JSONL loader and
  through the example external `csv_prompts` loader (Python); the difference in aiperf's wall time
  to finish a 1-request run is the protocol + process cost.
- Exporter: the example Markdown exporter fed every record of a 20,000-request run; its time is
  logged by aiperf ("exporter 'markdown' finished in N ms").

Usage: cargo build --release --bins && scripts/bench_plugins.py
"""
import csv, json, os, re, subprocess, sys, tempfile, time

from benchlib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
EXAMPLES = os.path.join(ROOT, "examples", "plugins")


def aiperf(args, plugin_path=None):
    env = dict(os.environ, XDG_CONFIG_HOME="/nonexistent")
    env.pop("AIPERF_PLUGIN_PATH", None)
    if plugin_path:
        env["AIPERF_PLUGIN_PATH"] = plugin_path
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(BIN, "aiperf")] + args, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr)
    return time.monotonic() - t0, p.stderr


def main():
    rows = 100_000
    port = free_port()
    mock = subprocess.Popen([os.path.join(BIN, "aiperf-mock-server"), "--port", str(port), "--fast"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        url = f"http://127.0.0.1:{port}"
        tmp = tempfile.mkdtemp()
        csv_path, jsonl_path = os.path.join(tmp, "p.csv"), os.path.join(tmp, "p.jsonl")
        with open(csv_path, "w", newline="") as fc, open(jsonl_path, "w") as fj:
            w = csv.writer(fc); w.writerow(["prompt", "max_tokens"])
            for i in range(rows):
                text = f"Prompt number {i}: tell me about the number {i * 7}."
                w.writerow([text, 16]); fj.write(json.dumps({"text": text, "output_length": 16}) + "\n")
        common = ["profile", "-m", "m", "-u", url, "--request-count", "1", "--ui-type", "none", "--num-dataset-entries", "1"]
        best = lambda f: min(f() for _ in range(3))
        builtin = best(lambda: aiperf(common + ["--input-file", jsonl_path, "--custom-dataset-type", "single_turn",
                                                "--artifact-dir", os.path.join(tmp, "a")])[0])
        external = best(lambda: aiperf(common + ["--input-file", csv_path, "--custom-dataset-type", "csv_prompts",
                                                 "--artifact-dir", os.path.join(tmp, "b")], os.path.join(EXAMPLES, "csv-loader"))[0])
        _, log = aiperf(["profile", "-m", "m", "-u", url, "--request-count", "20000", "--concurrency", "32", "--isl", "64",
                         "--osl", "16", "--num-dataset-entries", "100", "--ui-type", "none", "--artifact-dir", os.path.join(tmp, "c")],
                        os.path.join(EXAMPLES, "markdown-exporter"))
        m = re.search(r"exporter 'markdown' finished in (\d+) ms", log)
        print(json.dumps({"loader_rows": rows, "builtin_jsonl_run_s": round(builtin, 3), "external_csv_run_s": round(external, 3),
                          "external_loader_overhead_us_per_row": round((external - builtin) / rows * 1e6, 2),
                          "exporter_records": 20000, "exporter_ms": int(m.group(1)) if m else None}, indent=2))
    finally:
        mock.terminate(); mock.wait()


if __name__ == "__main__":
    main()
