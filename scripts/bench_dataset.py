#!/usr/bin/env python3
"""Dataset preparation benchmark: how long the release binary takes to turn a dataset into
ready request bodies, and its peak RSS, for

  - a 1,000,000-line single_turn JSONL file (about 40 tokens per line),
  - a 1,000,000-line mooncake_trace file with hash_ids (shared prefix blocks),
  - 100,000 synthetic prompts (ISL 128).

Each run sends one request to the release mock so the whole path is real; the time is the one
aiperf logs ("prepared N dataset entries ... in X ms": tokenizer load, read/parse, synthesis,
input token counting and body rendering), the peak RSS is /usr/bin/time's.

Usage: cargo build --release --bins && scripts/bench_dataset.py [--lines 1000000]
"""
import argparse, json, os, random, re, shutil, subprocess, tempfile, time

from benchlib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
WORDS = ("the quick brown fox jumps over a lazy dog while seven bright stars watch "
         "from distant hills and rivers carry stories toward the patient sea").split()


def write_single_turn(path, n):
    rng = random.Random(1)
    with open(path, "w") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(36))
            f.write(json.dumps({"text": f"{i} {text}", "output_length": 16}) + "\n")


def write_mooncake(path, n):
    rng = random.Random(2)
    with open(path, "w") as f:
        for i in range(n):
            # 4 blocks of 16 tokens; the first two come from a pool of 200 shared prefixes.
            ids = [rng.randrange(100), 100 + rng.randrange(100), 1000 + 2 * i, 1001 + 2 * i]
            f.write(json.dumps({"timestamp": i, "input_length": 60, "output_length": 8, "hash_ids": ids}) + "\n")


def run(port, out, extra):
    argv = ["/usr/bin/time", "-v", os.path.join(BIN, "aiperf"), "profile", "-m", "mock-model",
            "-u", f"http://127.0.0.1:{port}", "--request-count", "1", "--ui-type", "none",
            "--random-seed", "1", "--artifact-dir", out, "--no-fixed-schedule"] + extra
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"aiperf failed: {p.stderr[-2000:]}")
    m = re.search(r"prepared (\d+) dataset entries .* in (\d+) ms", p.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", p.stderr)
    return {"entries": int(m.group(1)), "prepare_ms": int(m.group(2)),
            "peak_rss_mib": round(int(rss.group(1)) / 1024, 1), "wall": wall.group(1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--synthetic", type=int, default=100_000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="aiperf-dataset-bench-")
    port = free_port()
    mock = subprocess.Popen([os.path.join(BIN, "aiperf-mock-server"), "--port", str(port), "--fast",
                             "--tokenizer", "none"], stderr=subprocess.DEVNULL)
    rows = []
    try:
        time.sleep(1.0)
        st = os.path.join(work, "single_turn.jsonl")
        t0 = time.time(); write_single_turn(st, args.lines)
        size = os.path.getsize(st)
        print(f"wrote {args.lines} single_turn lines ({size / 2**20:.0f} MiB) in {time.time() - t0:.1f} s", flush=True)
        rows.append({"case": f"single_turn {args.lines} lines ({size / 2**20:.0f} MiB)",
                     **run(port, os.path.join(work, "r1"), ["--input-file", st, "--custom-dataset-type", "single_turn"])})
        os.remove(st)
        mc = os.path.join(work, "mooncake.jsonl")
        write_mooncake(mc, args.lines)
        size = os.path.getsize(mc)
        rows.append({"case": f"mooncake_trace {args.lines} lines, hash_ids, block 16 ({size / 2**20:.0f} MiB)",
                     **run(port, os.path.join(work, "r2"), ["--input-file", mc, "--custom-dataset-type", "mooncake_trace",
                                                             "--isl-block-size", "16"])})
        os.remove(mc)
        rows.append({"case": f"synthetic {args.synthetic} prompts, ISL 128",
                     **run(port, os.path.join(work, "r3"), ["--num-dataset-entries", str(args.synthetic), "--isl", "128",
                                                             "--osl", "16"])})
    finally:
        mock.terminate(); mock.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
