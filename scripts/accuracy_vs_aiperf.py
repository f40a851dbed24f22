#!/usr/bin/env python3
"""Cross-checks our `aiperf profile --accuracy-benchmark` against Python AIPerf 0.13.

For each benchmark, on its fixture repo (the tiny Hub copy `fixture()` in
crates/aiperf-accuracy), against the mock server answering as a 0.5 oracle (right for the
first floor(n/2) problems of each task), both implementations run the same profile and the
script compares:
  (a) each request body in inputs.json: `messages`/`prompt`, `max_completion_tokens`/
      `max_tokens`, `stop`, then every other payload field (in session order);
  (b) accuracy_results.csv rows;
  (c) per problem in accuracy_export.jsonl: task, grader_name, passed, unparsed, expected,
      actual, then every other field but ids and timestamps (matched by session_num), and the
      lines' key sets;
  (d) the `accuracy.*` entries of profile_export_aiperf.json;
  (o) that the reference graded each answer as the oracle meant (else its prompts missed the
      oracle's keys and the comparison would be of filler text).
It prints one line per benchmark: MATCH, or the first differences (both values).

How the rows get to Python AIPerf without a Hub: a generated `sitecustomize.py` on PYTHONPATH
patches `datasets.load_dataset` so the fixture's repo name loads the local copy
(`load_dataset(local_dir, config, split=..., ...)`, same README/file-name rules). LiveCodeBench
ships a loading script that datasets>=4 cannot run; for it the patch passes the release's
data files explicitly (the ones our Source names) as the `test` split.

The oracle: `write_fixtures --sources` names the splits our benchmark reads; this script loads
them with `datasets` from the local copy, and `write_fixtures --oracle` builds our problems from
those rows and writes `{"key","reply"}` lines for `aiperf-mock-server --oracle-answers`.

Run from the workspace root, with the reference venv's python (it has `datasets` and pyarrow):
    cargo build -p aiperf -p aiperf-mock-server
    cargo build -p aiperf-accuracy --example write_fixtures
    ../shared/tools/aiperf-reference --version   # installs the reference once
    /tmp/aiperf-reference/venv/bin/python scripts/accuracy_vs_aiperf.py [BENCH...] [--work DIR]
Benchmarks default to all eleven. Variants: --n-shots N, --cot 1|0, --extra '...', --no-oracle, --no-streaming. Scratch files go to --work (default /tmp/accuracy_vs_aiperf).

Python AIPerf needs its `accuracy` extra (lighteval, deepeval, latex2sympy2_extended==1.0.6) for
hellaswag, bigbench (deepeval templates), aime24/aime25/math_500/gpqa_diamond (lighteval graders)
and lcb_codegeneration. Install them outside the shared venv and pass the directories with
--ref-pythonpath A:B:... (put first on PYTHONPATH for the reference run only), e.g.
    pip install --no-deps --target /tmp/accx-extras lighteval==0.13.0 deepeval==4.3.1 \
        latex2sympy2_extended==1.0.6
plus their missing imports (sacrebleu, pytablewriter, tenacity, sympy, antlr4, nltk, sklearn,
openai, ...); torch is only imported, never used, by the graders AIPerf calls, so a stub
package that resolves any attribute is enough.
"""

import argparse
import csv
import json
import shlex
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
OUR_AIPERF = TARGET / "debug" / "aiperf"
MOCK = TARGET / "debug" / "aiperf-mock-server"
EXAMPLE = TARGET / "debug" / "examples" / "write_fixtures"
REFERENCE = ROOT.parent / "shared" / "tools" / "aiperf-reference"
REF_PYTHONPATH = ""
EXTRA = []       # --extra: more profile arguments for both runs
N_SHOTS = ""     # --n-shots
COT = None       # --cot 1|0
NO_STREAMING = False  # --no-streaming: leave out --streaming
NO_ORACLE = False  # --no-oracle: the mock answers with its filler text (the unparsed paths)
REF_HF_HOME = Path(os.environ.get("AIPERF_REF_DIR", "/tmp/aiperf-reference")) / "hf-home"

BENCHMARKS = ["mmlu", "mmlu_pro", "aime", "hellaswag", "bigbench", "aime24", "aime25",
              "math_500", "gsm8k", "gpqa_diamond", "lcb_codegeneration"]
# The fixture holds only some tasks of these.
TASKS = {"mmlu": "abstract_algebra,anatomy",
         "bigbench": "boolean_expressions,sports_understanding"}

SITECUSTOMIZE = '''\
import json, os
import datasets
_orig = datasets.load_dataset
_MAP = json.load(open(os.environ["ACCX_REPO_MAP"]))

def _patched(path, name=None, *args, split=None, **kw):
    m = _MAP.get(path)
    if m is None:
        return _orig(path, name, *args, split=split, **kw)
    kw.pop("trust_remote_code", None)
    files = (m.get("data_files") or {}).get(name or "")
    if files:
        return _orig(m["dir"], data_files={split or "test": files}, split=split, **kw)
    return _orig(m["dir"], name, *args, split=split, **kw)

datasets.load_dataset = _patched
'''


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_parquet(repo_dir):
    """Every `<path>.rows.jsonl` the example wrote becomes `<path>` in Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    for f in sorted(repo_dir.rglob("*.rows.jsonl")):
        rows = [json.loads(l) for l in f.read_text().splitlines() if l.strip()]
        pq.write_table(pa.Table.from_pylist(rows), str(f)[: -len(".rows.jsonl")])
        f.unlink()


def load_rows(repo_dir, source):
    """A source's rows as `datasets` loads them from the local copy."""
    import datasets
    if source["data_files"]:
        ds = datasets.load_dataset(str(repo_dir), data_files={source["split"]: source["data_files"]},
                                   split=source["split"])
    else:
        ds = datasets.load_dataset(str(repo_dir), source["config"], split=source["split"])
    return ds.to_list()


def start_mock(oracle_file, log):
    port = free_port()
    proc = subprocess.Popen([str(MOCK), "--port", str(port), "--ttft", "0", "--itl", "0"]
                            + (["--oracle-answers", str(oracle_file)] if oracle_file else []),
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mock server did not start")


def profile_args(bench, port, n, out_dir):
    args = ["profile", "--model", "m", "--url", f"http://127.0.0.1:{port}",
            "--endpoint-type", "chat", "--streaming", "--tokenizer", "local/gpt2",
            "--no-server-metrics", "--no-gpu-telemetry", "--ui-type", "none",
            "--request-count", str(n), "--concurrency", "1",
            "--accuracy-benchmark", bench, "--artifact-dir", str(out_dir)]
    if bench in TASKS:
        args += ["--accuracy-tasks", TASKS[bench]]
    if N_SHOTS:
        args += ["--accuracy-n-shots", N_SHOTS]
    if COT is not None:
        args += ["--accuracy-enable-cot" if COT == "1" else "--accuracy-no-enable-cot"]
    for flag in ("--endpoint-type", "--model", "--tokenizer"):  # a flag may be given once only
        if flag in EXTRA and flag in args:
            i = args.index(flag)
            del args[i:i + 2]
    if "--streaming" in EXTRA or NO_STREAMING:
        args.remove("--streaming")
    return args + EXTRA


# ---- reading a run's artifacts ----

def read_inputs(out):
    data = json.loads((out / "inputs.json").read_text())["data"]
    bodies = []
    for conv in data:
        p = conv["payloads"][0]
        bodies.append({"messages": p.get("messages"), "prompt": p.get("prompt"),
                       "max_tokens": p.get("max_completion_tokens", p.get("max_tokens")),
                       "max_tokens_field": "max_completion_tokens" if "max_completion_tokens" in p
                       else ("max_tokens" if "max_tokens" in p else None),
                       "stop": p.get("stop"), "payload": p})
    return bodies


def read_csv(out):
    with open(out / "accuracy_results.csv", newline="") as f:
        return list(csv.reader(f))


def read_export(out):
    lines = [json.loads(l) for l in (out / "accuracy_export.jsonl").read_text().splitlines()
             if l.strip()]
    return sorted(lines, key=lambda l: l.get("session_num", 0))


def read_summary(out):
    d = json.loads((out / "profile_export_aiperf.json").read_text())
    return {k: v for k, v in d.items() if k.startswith("accuracy")}


def short(v, n=300):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + f"...({len(s)} chars)"


def first_text_diff(a, b):
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"first differing char {i}: ref {a[max(0, i - 40):i + 60]!r} vs ours {b[max(0, i - 40):i + 60]!r}"


def compare(ref, ours, listing, diffs):
    # (a) request bodies
    ri, oi = read_inputs(ref), read_inputs(ours)
    if len(ri) != len(oi):
        diffs.append(f"(a) inputs.json: {len(ri)} requests (ref) vs {len(oi)} (ours)")
    for i, (r, o) in enumerate(zip(ri, oi)):
        for field in ("messages", "prompt", "max_tokens", "max_tokens_field", "stop"):
            if r[field] != o[field]:
                detail = ""
                if field == "messages" and r[field] and o[field] and len(r[field]) == len(o[field]):
                    for j, (rm, om) in enumerate(zip(r[field], o[field])):
                        if rm != om:
                            detail = (f" message {j} role {rm.get('role')!r}/{om.get('role')!r}: "
                                      + first_text_diff(rm.get("content", ""), om.get("content", "")))
                            break
                elif field == "messages":
                    detail = f" ref {short(r[field])} vs ours {short(o[field])}"
                else:
                    detail = f" ref {r[field]!r} vs ours {o[field]!r}"
                diffs.append(f"(a) request {i} {field}:{detail}")
        if not any(d.startswith(f"(a) request {i} ") for d in diffs):
            for k in sorted(set(r["payload"]) | set(o["payload"])):
                if r["payload"].get(k) != o["payload"].get(k):
                    diffs.append(f"(a) request {i} payload[{k!r}]: ref {short(r['payload'].get(k), 200)} "
                                 f"vs ours {short(o['payload'].get(k), 200)}")
    # (b) csv
    rc, oc = read_csv(ref), read_csv(ours)
    if rc != oc:
        diffs.append(f"(b) accuracy_results.csv: ref {rc} vs ours {oc}")
    # (c) per problem
    re_, oe = read_export(ref), read_export(ours)
    if len(re_) != len(oe):
        diffs.append(f"(c) accuracy_export.jsonl: {len(re_)} lines (ref) vs {len(oe)} (ours)")
    for r, o in zip(re_, oe):
        for field in ("session_num", "task", "grader_name", "passed", "unparsed", "expected",
                      "actual"):
            if r.get(field) != o.get(field):
                diffs.append(f"(c) session {r.get('session_num')} {field}: ref {short(r.get(field), 200)} "
                             f"vs ours {short(o.get(field), 200)}")
        for field in sorted(set(r) | set(o)):  # the rest of the line, ids and times aside
            if field in ("session_num", "task", "grader_name", "passed", "unparsed", "expected",
                         "actual", "conversation_id", "x_request_id", "worker_id", "timestamp_ns"):
                continue
            if field in r and field in o and r[field] != o[field]:
                diffs.append(f"(c) session {r.get('session_num')} {field}: ref {short(r[field], 200)} "
                             f"vs ours {short(o[field], 200)}")
    rkeys = set(re_[0]) if re_ else set()
    okeys = set(oe[0]) if oe else set()
    # The oracle was meant to be right exactly where `listing` says; if the reference disagrees,
    # its prompts missed the oracle's keys (the mock answered with filler) or its grader differs.
    # (Skipped with --no-oracle or a --accuracy-grader override: the oracle aims at the default grader.)
    for r in ([] if NO_ORACLE or "--accuracy-grader" in EXTRA else re_):
        i = r.get("session_num", 0)
        if i < len(listing) and r.get("passed") != listing[i]["correct"]:
            diffs.append(f"(o) session {i}: oracle meant passed={listing[i]['correct']}, ref graded "
                         f"passed={r.get('passed')} (actual {short(r.get('actual'), 120)})")
    if rkeys != okeys:
        diffs.append(f"(c) line keys: only ref {sorted(rkeys - okeys)}, only ours {sorted(okeys - rkeys)}")
    # (d) summary
    rs, os_ = read_summary(ref), read_summary(ours)
    for k in sorted(set(rs) | set(os_)):
        if rs.get(k) != os_.get(k):
            diffs.append(f"(d) {k}: ref {rs.get(k)} vs ours {os_.get(k)}")


def run_bench(bench, work, log):
    bdir = work / bench
    shutil.rmtree(bdir, ignore_errors=True)
    repos = bdir / "repos"
    sh([str(EXAMPLE), str(repos)])
    # Only this benchmark's repos matter, but the example writes all; that's fine.
    tasks = TASKS.get(bench, "")
    sources = json.loads(sh([str(EXAMPLE), "--sources", bench] + ([tasks] if tasks else [])))
    repo_map = {}
    for s in sources:
        d = repos / s["repo"]
        to_parquet(d)
        m = repo_map.setdefault(s["repo"], {"dir": str(d), "data_files": {}})
        if s["data_files"]:
            m["data_files"][s["config"] or ""] = s["data_files"]
    rows = [load_rows(repos / s["repo"], s) for s in sources]
    (bdir / "rows.json").write_text(json.dumps(rows, default=str))
    oracle = bdir / "oracle.jsonl"  # (with --no-oracle: built but not served)
    listing = json.loads(sh([str(EXAMPLE), "--oracle", bench, str(bdir / "rows.json"), str(oracle)]
                            + ([tasks] if tasks else [])))
    (bdir / "oracle_listing.json").write_text(json.dumps(listing, indent=1))
    n = len(listing)
    site = bdir / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (bdir / "repo_map.json").write_text(json.dumps(repo_map))

    results = {}
    for who in ("ref", "ours"):
        out = bdir / f"out-{who}"
        with open(bdir / f"mock-{who}.log", "w") as mlog:
            proc, port = start_mock(None if NO_ORACLE else oracle, mlog)
            try:
                env = dict(os.environ)
                if who == "ref":
                    env["PYTHONPATH"] = os.pathsep.join(
                        p for p in [str(site), REF_PYTHONPATH, env.get("PYTHONPATH", "")] if p)
                    env["DEEPEVAL_TELEMETRY_OPT_OUT"] = "YES"
                    env["ACCX_REPO_MAP"] = str(bdir / "repo_map.json")
                    cmd, cwd = [str(REFERENCE)] + profile_args(bench, port, n, out), ROOT
                else:
                    env["HF_HOME"] = str(REF_HF_HOME)
                    env["HF_HUB_OFFLINE"] = "1"
                    cmd, cwd = [str(OUR_AIPERF)] + profile_args(bench, port, n, out), repos
                with open(bdir / f"run-{who}.log", "w") as rlog:
                    rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=rlog, stderr=subprocess.STDOUT,
                                        timeout=600).returncode
            finally:
                proc.terminate()
                proc.wait()
        results[who] = (rc, out)
    diffs = []
    for who, (rc, out) in results.items():
        if rc != 0:
            diffs.append(f"{who} exited {rc} (see {bdir}/run-{who}.log)")
        if not (out / "accuracy_export.jsonl").exists():
            diffs.append(f"{who}: no accuracy_export.jsonl in {out}")
    if not diffs:
        compare(results["ref"][1], results["ours"][1], listing, diffs)
    return n, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("benchmarks", nargs="*", default=BENCHMARKS)
    ap.add_argument("--work", default="/tmp/accuracy_vs_aiperf")
    ap.add_argument("--max-diffs", type=int, default=6)
    ap.add_argument("--ref-pythonpath", default="",
                    help="extra PYTHONPATH entries for the reference run (the accuracy extra)")
    ap.add_argument("--extra", default="", help="more profile arguments for both runs, "
                    "e.g. '--endpoint-type completions' (replaces the default of a flag it repeats)")
    ap.add_argument("--n-shots", default="", help="--accuracy-n-shots for both runs and the oracle")
    ap.add_argument("--cot", choices=["1", "0"], help="--accuracy-enable-cot (1) / --accuracy-no-enable-cot (0)")
    ap.add_argument("--no-streaming", action="store_true", help="run without --streaming")
    ap.add_argument("--no-oracle", action="store_true",
                    help="serve the mock's filler text instead of the oracle's answers")
    a = ap.parse_args()
    global REF_PYTHONPATH, EXTRA, N_SHOTS, COT, NO_ORACLE
    NO_ORACLE = a.no_oracle
    global NO_STREAMING
    NO_STREAMING = a.no_streaming
    REF_PYTHONPATH = a.ref_pythonpath
    EXTRA = shlex.split(a.extra)
    N_SHOTS, COT = a.n_shots, a.cot
    if N_SHOTS:
        os.environ["ACCX_N_SHOTS"] = N_SHOTS
    if COT is not None:
        os.environ["ACCX_COT"] = COT
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HOME", str(work / "hf-home"))  # datasets' cache for load_rows
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    for tool in (OUR_AIPERF, MOCK, EXAMPLE):
        if not tool.exists():
            sys.exit(f"missing {tool}: see the build commands at the top of this script")
    bad = 0
    for bench in a.benchmarks:
        try:
            n, diffs = run_bench(bench, work, None)
        except Exception as e:  # a setup failure is a result too
            n, diffs = 0, [f"setup failed: {type(e).__name__}: {e}"
                           + (f" / {e.stderr.strip()[-500:]}" if getattr(e, "stderr", None) else "")]
        if diffs:
            bad += 1
            print(f"{bench}: {len(diffs)} difference(s) over {n} problems:")
            for d in diffs[: a.max_diffs]:
                print(f"    {d}")
            if len(diffs) > a.max_diffs:
                print(f"    ... {len(diffs) - a.max_diffs} more")
        else:
            print(f"{bench}: MATCH ({n} problems)")
        sys.stdout.flush()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
