#!/usr/bin/env python3
"""Open-loop pacing benchmark: Poisson arrivals at 100, 1,000 and 10,000 req/s against the release
mock (TTFT = ITL = 0, non-streaming chat), mock and client pinned to separate cores.

Reports, per rate, what aiperf's own load report says (server-independent): the schedule's rate,
the achieved send rate, pacer lateness p50/p99/max (credit release minus intended time) and the
client's CPU utilisation; plus the mock-side arrival rate is implied by request_throughput.

Usage: cargo build --release --bins && scripts/bench_rate.py [--seconds 5]
"""
import argparse, json, os, shutil, subprocess, tempfile, time

from benchlib import free_port, pinned

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rates", default="100,1000,10000")
    args = ap.parse_args()
    port = free_port()
    mock = subprocess.Popen(pinned(0, [os.path.join(BIN, "aiperf-mock-server"), "--port", str(port), "--fast",
                                        "--workers", "1", "--tokenizer", "none"]), stderr=subprocess.DEVNULL)
    rows = []
    try:
        time.sleep(1.0)
        for rate in [float(r) for r in args.rates.split(",")]:
            out = tempfile.mkdtemp(prefix="aiperf-rate-")
            n = int(rate * args.seconds)
            subprocess.run(pinned(1, [os.path.join(BIN, "aiperf"), "profile", "-m", "mock-model", "-u", f"http://127.0.0.1:{port}",
                                      "--request-rate", str(rate), "--request-count", str(n), "--isl", "32", "--osl", "8",
                                      "--num-dataset-entries", "100", "--random-seed", "1", "--use-server-token-count",
                                      "--ui-type", "none", "--artifact-dir", out]),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            s = json.load(open(os.path.join(out, "profile_export_aiperf.json")))
            load = s["load_report"]
            rows.append({"requested_rate": rate, "requests": n,
                         "scheduled_rate": round(load.get("scheduled_request_rate", 0), 1),
                         "achieved_send_rate": round(load.get("achieved_request_rate", 0), 1),
                         "achieved_vs_scheduled_pct": round(100 * load.get("achieved_request_rate", 0) / load.get("scheduled_request_rate", 1), 2),
                         "lateness_p50_ms": round(load.get("schedule_lateness_p50_ms", float("nan")), 4),
                         "lateness_p99_ms": round(load.get("schedule_lateness_p99_ms", float("nan")), 4),
                         "lateness_max_ms": round(load.get("schedule_lateness_max_ms", float("nan")), 4),
                         "client_cpu_pct_of_all_cores": round(load.get("client_cpu_utilization_pct", float("nan")), 1),
                         "errors": s.get("error_request_count", {}).get("avg", 0),
                         "client_bound": s["client_bound"]["verdict"]})
            shutil.rmtree(out, ignore_errors=True)
    finally:
        mock.terminate(); mock.wait()
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
