#!/usr/bin/env python3
"""Dataset preparation benchmark: how long the release binary takes to turn a dataset into
ready request bodies, and its peak RSS. Cases (`--cases`, comma-separated; default all):

  single_turn  1,000,000-line single_turn JSONL (about 40 tokens per line)
  mooncake     1,000,000-line mooncake_trace with hash_ids (shared prefix blocks, block 16)
  synthetic    100,000 synthetic prompts (ISL 128)
  bailian      1,000,000-line bailian_trace: 2-turn parent_chat_id chains (500,000 sessions),
               4 hash_ids per row (2 from shared pools, 2 unique), input_length 60, block 16
  burst_gpt    1,000,000-row BurstGPT CSV, 40..80 request tokens (corpus windows)

Files are generated deterministically (fixed seeds) with the stdlib only. Each run sends one
request to the release mock (aiperf probes the server before it prepares anything, so there is
no way to stop after the dataset), with `--no-fixed-schedule` so trace timestamps are not waited
for. Reported per run: "prepare", the time aiperf logs for the dataset stage ("prepared N dataset
entries ... in X ms": tokenizer, read/parse, synthesis, body rendering); "load" and "render",
its two halves from the debug log ("conversations loaded or synthesized in", "request bodies
rendered in"); "wall", the whole process (adds probing, one request, writing inputs.json) and
its CPU (user + system) seconds and peak RSS, all from /usr/bin/time -v (on a shared
machine CPU seconds move less than wall time). With `--runs N` each case runs N times and the
median is printed as well.

Usage: cargo build --release --bins && scripts/bench_dataset.py [--cases bailian,burst_gpt]
           [--lines 1000000] [--runs 3] [--aiperf target/release/aiperf] [--keep DIR]
"""
import argparse, json, os, random, re, shutil, statistics, subprocess, tempfile, time

from benchlib import free_port, wait_port

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


def write_bailian(path, n):
    """n rows as n/2 two-turn chains. A chain's second turn comes a few rows after its first
    (sessions interleave, as in the real trace); each row has 4 hash ids of block 16 (the first
    two from pools of 100 shared prefixes, the last two its own) and 60 input tokens."""
    rng = random.Random(3)
    types = ["text", "text", "text", "search", "image", "file"]
    pending = []  # (due row, chat id, parent id): second turns waiting for their slot
    next_chat = 1
    uniq = 10_000
    with open(path, "w") as f:
        for i in range(n):
            if pending and (pending[0][0] <= i or n - i <= len(pending)):
                _, chat, parent = pending.pop(0)
                turn = 2
            else:
                chat, parent, turn = next_chat, -1, 1
                next_chat += 1
                pending.append((i + rng.randrange(1, 8), next_chat, chat))
                next_chat += 1
            ids = [rng.randrange(100), 100 + rng.randrange(100), uniq, uniq + 1]
            uniq += 2
            f.write(json.dumps({"chat_id": chat, "parent_chat_id": parent,
                                "timestamp": round(i * 0.004, 3), "input_length": 60,
                                "output_length": rng.randrange(1, 400), "type": rng.choice(types),
                                "turn": turn, "hash_ids": ids}) + "\n")


def write_burst_gpt(path, n):
    rng = random.Random(4)
    with open(path, "w") as f:
        f.write("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n")
        t = 0.0
        for _ in range(n):
            t += rng.randrange(0, 3)
            model = "ChatGPT" if rng.random() < 0.7 else "GPT-4"
            req = rng.randrange(40, 81)
            resp = 0 if rng.random() < 0.02 else rng.randrange(1, 600)
            kind = "Conversation log" if rng.random() < 0.5 else "API log"
            f.write(f"{t:.0f},{model},{req},{resp},{req + resp},{kind}\n")


def parse_run(stderr):
    def ms(pattern):
        m = re.search(pattern, stderr)
        return int(float(m.group(1))) if m else None
    m = re.search(r"prepared (\d+) dataset entries .* in (\d+) ms", stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    secs = 0.0
    for part in wall.group(1).split(":"):
        secs = secs * 60 + float(part)
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", stderr).group(1))
              for k in ("User", "System"))
    return {"entries": int(m.group(1)), "prepare_ms": int(m.group(2)),
            "load_ms": ms(r"conversations loaded or synthesized in (\d+) ms"),
            "render_ms": ms(r"request bodies rendered in (\d+) ms"),
            "wall_s": round(secs, 2), "cpu_s": round(cpu, 2), "peak_rss_mib": round(int(rss.group(1)) / 1024, 1)}


def run(aiperf, port, out, extra):
    argv = ["/usr/bin/time", "-v", aiperf, "profile", "-m", "mock-model",
            "-u", f"http://127.0.0.1:{port}", "--request-count", "1", "--ui-type", "none",
            "--random-seed", "1", "--artifact-dir", out, "--no-fixed-schedule",
            "--log-level", "DEBUG", "--tokenizer", "builtin"] + extra
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"aiperf failed: {p.stderr[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return parse_run(p.stderr)


# name -> (file name, writer, extra flags given the file)
CASES = {
    "single_turn": ("single_turn.jsonl", write_single_turn,
                    lambda f: ["--input-file", f, "--custom-dataset-type", "single_turn"]),
    "mooncake": ("mooncake.jsonl", write_mooncake,
                 lambda f: ["--input-file", f, "--custom-dataset-type", "mooncake_trace",
                            "--isl-block-size", "16"]),
    "synthetic": (None, None, None),
    "bailian": ("bailian.jsonl", write_bailian,
                lambda f: ["--input-file", f, "--custom-dataset-type", "bailian_trace"]),
    "burst_gpt": ("burst_gpt.csv", write_burst_gpt,
                  lambda f: ["--input-file", f, "--custom-dataset-type", "burst_gpt_trace"]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--synthetic", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--aiperf", default=os.path.join(BIN, "aiperf"))
    ap.add_argument("--mock", default=os.path.join(BIN, "aiperf-mock-server"))
    ap.add_argument("--keep", help="generate files into (and reuse them from) this directory")
    args = ap.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            raise SystemExit(f"--cases: unknown case '{c}' (one of: {', '.join(CASES)})")
    work = tempfile.mkdtemp(prefix="aiperf-dataset-bench-")
    data = args.keep or work
    os.makedirs(data, exist_ok=True)
    port = free_port()
    mock = subprocess.Popen([args.mock, "--port", str(port), "--fast", "--tokenizer", "none"],
                            stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait_port(port)
        for case in cases:
            name, writer, flags = CASES[case]
            if writer is None:
                extra = ["--num-dataset-entries", str(args.synthetic), "--isl", "128", "--osl", "16"]
                label = f"synthetic {args.synthetic} prompts, ISL 128"
            else:
                path = os.path.join(data, f"{args.lines}-{name}")
                if not os.path.exists(path):
                    t0 = time.time()
                    writer(path + ".tmp", args.lines)
                    os.replace(path + ".tmp", path)
                    print(f"wrote {path} in {time.time() - t0:.1f} s", flush=True)
                extra = flags(path)
                label = f"{case} {args.lines} lines ({os.path.getsize(path) / 2**20:.0f} MiB)"
            runs = []
            for i in range(args.runs):
                r = run(args.aiperf, port, os.path.join(work, f"{case}-{i}"), extra)
                print(f"{label} run {i + 1}: {json.dumps(r)}", flush=True)
                runs.append(r)
            median = {k: statistics.median(r[k] for r in runs)
                      for k in runs[0] if runs[0][k] is not None}
            rows.append({"case": label, "runs": len(runs), "median": median,
                         "wall_s": [r["wall_s"] for r in runs],
                         "cpu_s": [r["cpu_s"] for r in runs],
                         "peak_rss_mib": [r["peak_rss_mib"] for r in runs]})
            if not args.keep and writer is not None:
                os.remove(path)
    finally:
        mock.terminate()
        mock.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
