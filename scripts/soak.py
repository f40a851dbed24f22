#!/usr/bin/env python3
"""Soak: constant-rate load for a long time, sampling aiperf's resident memory.

Usage: cargo build --release --bins && scripts/soak.py [--minutes 30] [--rate 500] [--streaming]
Prints one row per sample (elapsed s, requests done so far by the mock, RSS MiB) and a summary.
"""
import argparse, json, os, shutil, subprocess, tempfile, time, urllib.request

from benchlib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def mock_requests(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    for line in text.splitlines():
        if line.startswith("vllm:request_success_total"):
            return int(float(line.split()[-1]))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--streaming", action="store_true")
    args = ap.parse_args()
    port = free_port()
    mock = subprocess.Popen([os.path.join(BIN, "aiperf-mock-server"), "--port", str(port), "--ttft", "5", "--itl", "1",
                             "--tokenizer", "none"], stderr=subprocess.DEVNULL)
    out = tempfile.mkdtemp(prefix="aiperf-soak-")
    samples = []
    try:
        time.sleep(1.0)
        cmd = [os.path.join(BIN, "aiperf"), "profile", "-m", "mock-model", "-u", f"http://127.0.0.1:{port}",
               "--request-rate", str(args.rate), "--benchmark-duration", str(args.minutes * 60), "--isl", "64",
               "--osl", "16", "--num-dataset-entries", "100", "--ui-type", "none", "--artifact-dir", out]
        if args.streaming:
            cmd.append("--streaming")
        client = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while client.poll() is None:
            time.sleep(args.interval)
            if client.poll() is not None:
                break
            row = {"elapsed_s": round(time.monotonic() - t0), "requests": mock_requests(port), "rss_mib": round(rss_mib(client.pid), 1)}
            samples.append(row)
            print(json.dumps(row), flush=True)
        client.wait()
    finally:
        mock.terminate(); mock.wait()
        shutil.rmtree(out, ignore_errors=True)
    if len(samples) >= 3:
        warm = samples[len(samples) // 4]
        last = samples[-1]
        growth = (last["rss_mib"] - warm["rss_mib"]) / max(1, last["requests"] - warm["requests"]) * 1024 * 1024
        print(json.dumps({"warm_rss_mib": warm["rss_mib"], "final_rss_mib": last["rss_mib"],
                          "bytes_per_request_after_warmup": round(growth, 1), "requests": last["requests"]}))


if __name__ == "__main__":
    main()
