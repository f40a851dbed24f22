#!/usr/bin/env python3
"""Client cost benchmark: requests/s and client CPU per 1,000 streamed requests.

Starts the release mock server (TTFT = ITL = 0) pinned to one core, runs `aiperf profile` pinned to
the other, and reads the client's CPU time from the OS (user + sys of the aiperf process). Two runs
of different lengths give the marginal cost per request, free of start-up cost (tokenizer load,
prompt generation), which is reported separately.

Usage: scripts/bench_client.py [--concurrency 32] [--osl 64] [--isl 128] [--requests 20000]
Build first: cargo build --release --bins
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time

from benchlib import free_port, pinned, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
AIPERF_DIR = [BIN]  # the client under test; the mock always comes from BIN


def run_client(url, n, args):
    out = tempfile.mkdtemp(prefix="aiperf-bench-")
    argv = pinned(1, [os.path.join(AIPERF_DIR[0], "aiperf"), "profile", "-m", "mock-model", "-u", url, "--streaming",
                      "--concurrency", str(args.concurrency), "--request-count", str(n),
                      "--isl", str(args.isl), "--osl", str(args.osl), "--random-seed", "1",
                      "--num-dataset-entries", "100",
                      "--ui-type", "none", "--artifact-dir", out] + (["--use-server-token-count"] if args.server_counts else []))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.load(open(os.path.join(out, "profile_export_aiperf.json")))
    shutil.rmtree(out, ignore_errors=True)
    return {"requests": n, "cpu_s": cpu, "wall_s": wall, "max_rss_kb": after.ru_maxrss,
            "request_throughput": summary["request_throughput"]["avg"],
            "ok": summary["request_count"]["avg"], "errors": summary.get("error_request_count", {}).get("avg", 0)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--osl", type=int, default=64)
    p.add_argument("--isl", type=int, default=128)
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--bin-dir", default=BIN, help="directory with the aiperf binary to measure (A/B runs)")
    p.add_argument("--server-counts", action="store_true", help="--use-server-token-count (no client tokenization)")
    args = p.parse_args()
    AIPERF_DIR[0] = args.bin_dir
    port = free_port()
    mock = subprocess.Popen(pinned(0, [os.path.join(BIN, "aiperf-mock-server"), "--port", str(port), "--fast",
                                        "--workers", "1"]), stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}"
        run_client(url, 500, args)  # warm caches
        small = run_client(url, args.requests // 10, args)
        big = run_client(url, args.requests, args)
        marginal = (big["cpu_s"] - small["cpu_s"]) / (big["requests"] - small["requests"]) * 1000
        startup = small["cpu_s"] - marginal * small["requests"] / 1000
        result = {"concurrency": args.concurrency, "osl": args.osl, "isl": args.isl,
                  "client_tokenizes_output": not args.server_counts,
                  "requests_per_s": big["request_throughput"], "client_cpu_s_per_1000": marginal,
                  "client_startup_cpu_s": startup, "client_total_cpu_s": big["cpu_s"],
                  "client_wall_s": big["wall_s"], "errors": big["errors"], "runs": [small, big]}
        print(json.dumps(result, indent=2))
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    sys.exit(main())
