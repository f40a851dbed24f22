#!/usr/bin/env python3
"""Client timing error against server-side truth (issue 9): TTFT and ITL as the client measured
them, compared with when the mock server handed each frame to the socket.

The release mock runs with `--record-timestamps` (one JSON line per response: arrival and the
wall-clock time of every body frame), pinned to one core; `aiperf profile` runs streamed requests
at the given concurrency, pinned to the other. Per request:

- TTFT error = client's first-content arrival (request_start_ns + time_to_first_token)
  - server's write of the first token frame. It includes loopback transit and every delay on
  the client's side (scheduling, reading, stamping).
- ITL error = client's inter_token_latency - the server's (last frame - first token frame) /
  (OSL - 1).

Both clocks are the machine's realtime clock (the client converts its monotonic stamps with one
anchor taken at start). Prints median, p99 and max of each error in ms, and JSON with --json.

Usage: scripts/bench_timing_error.py [--concurrency 1000] [--requests 5000] [--ttft 50] [--itl 5]
Build first: cargo build --release --bins
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile

from benchlib import free_port, pinned, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--concurrency", type=int, default=1000)
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--ttft", type=float, default=50.0)
    p.add_argument("--itl", type=float, default=5.0)
    p.add_argument("--osl", type=int, default=64)
    p.add_argument("--isl", type=int, default=128)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, 4 * args.concurrency + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    work = tempfile.mkdtemp(prefix="aiperf-timing-")
    stamps = os.path.join(work, "server.jsonl")
    port = free_port()
    mock = subprocess.Popen(pinned(0, [os.path.join(BIN, "aiperf-mock-server"), "--port", str(port),
                                        "--ttft", str(args.ttft), "--itl", str(args.itl),
                                        "--tokenizer", "none", "--record-timestamps", stamps]),
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        out = os.path.join(work, "run")
        subprocess.run(pinned(1, [os.path.join(BIN, "aiperf"), "profile", "-m", "mock-model",
                                  "-u", f"http://127.0.0.1:{port}", "--streaming",
                                  "--concurrency", str(args.concurrency),
                                  "--request-count", str(args.requests),
                                  "--isl", str(args.isl), "--osl", str(args.osl),
                                  "--random-seed", "1", "--num-dataset-entries", "100",
                                  "--ui-type", "none", "--artifact-dir", out]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        mock.terminate()
        mock.wait()

    server = {}
    for line in open(stamps):
        d = json.loads(line)
        server[d["x_request_id"]] = d
    ttft_err, itl_err, skipped = [], [], 0
    rows = []  # (request start, ttft error) to separate the opening burst
    for line in open(os.path.join(out, "profile_export.jsonl")):
        r = json.loads(line)
        s = server.get(r["metadata"]["x_request_id"])
        m = r.get("metrics", {})
        if s is None or "error" in r or "time_to_first_token" not in m:
            skipped += 1
            continue
        chunks = s["chunks_ns"]  # [role preamble, token 1, ..., last token + usage + DONE]
        first, last = chunks[1], chunks[-1]
        client_first = r["metadata"]["request_start_ns"] + m["time_to_first_token"]["value"] * 1e6
        ttft_err.append((client_first - first) / 1e6)
        rows.append((r["metadata"]["request_start_ns"], ttft_err[-1]))
        osl = m["output_sequence_length"]["value"]
        if osl > 1 and "inter_token_latency" in m:
            itl_err.append(m["inter_token_latency"]["value"] - (last - first) / 1e6 / (osl - 1))
    shutil.rmtree(work, ignore_errors=True)
    # The first `concurrency` requests start together on fresh connections (the opening burst).
    rows.sort()
    steady = [e for _, e in rows[args.concurrency:]]
    res = {
        "concurrency": args.concurrency, "requests": args.requests, "ttft_ms": args.ttft,
        "itl_ms": args.itl, "compared": len(ttft_err), "skipped": skipped,
        "ttft_error_ms": {"median": pct(ttft_err, 50), "p99": pct(ttft_err, 99), "max": max(ttft_err, default=float("nan"))},
        "itl_error_ms": {"median": pct(itl_err, 50), "p99": pct(itl_err, 99), "max": max(itl_err, default=float("nan"))},
        "ttft_error_after_first_wave_ms": {"median": pct(steady, 50), "p99": pct(steady, 99), "max": max(steady, default=float("nan"))},
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{res['compared']} requests compared ({skipped} skipped), concurrency {args.concurrency}, "
              f"TTFT {args.ttft} ms, ITL {args.itl} ms")
        for k in ("ttft_error_ms", "itl_error_ms", "ttft_error_after_first_wave_ms"):
            e = res[k]
            print(f"  {k}: median {e['median']:.3f}  p99 {e['p99']:.3f}  max {e['max']:.3f}")


if __name__ == "__main__":
    sys.exit(main())
