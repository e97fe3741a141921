#!/usr/bin/env python3
"""`twotower train --memory-limit` (issue 17): the peak resident set of the training process
(its VmHWM, from wait4's ru_maxrss) stays under the limit and does not grow with the row count
(200,000 and 800,000 generated rows, same limit), where a buffer holding every row grows with
it; a limit too small for the fixed part and one batch is refused with the figures.
Usage: test_memory_limit.py TWOTOWER
The data is generated in a child process (test_memory_limit.py --generate ROWS PATH): a child's
ru_maxrss starts from its parent's resident set at the fork, which must stay small."""
import itertools
import os
import random
import subprocess
import sys
import tempfile

SELF = os.path.abspath(__file__)
MIB = 1 << 20
LIMIT = 56 * MIB
failures = []

SPEC = """{"name": "memcap",
 "columns": {"user_id": "int64", "item_id": "int64", "timestamp": "int64", "title": "string"},
 "query_tower": {"features": [{"name": "user_id", "column": "user_id", "kind": "string_lookup", "embedding_dim": 16}],
                 "layers": [16]},
 "candidate_tower": {"id_column": "item_id", "features": [
     {"name": "item_id", "column": "item_id", "kind": "string_lookup", "embedding_dim": 16},
     {"name": "title", "column": "title", "kind": "text", "max_tokens": 1000, "embedding_dim": 8}],
   "layers": [16]},
 "training": {"optimizer": {"kind": "adagrad", "learning_rate": 0.1}, "batch_size": 1024, "epochs": 1,
              "eval_every": 0, "seed": 42},
 "data": {"train_rows": 0, "test_rows": 2000, "split_seed": 42}}
"""


def generate(path, rows, users=20000, items=5000):
    """Seeded clicks: Zipf-popular items (s = 1) and users (s = 0.6), ids only (bench_scale's shape)."""
    rng = random.Random(2517 + rows)
    uw = list(itertools.accumulate(1 / (i + 1) ** 0.6 for i in range(users)))
    iw = list(itertools.accumulate(1 / (i + 1) for i in range(items)))
    u = rng.choices(range(users), cum_weights=uw, k=rows)
    it = rng.choices(range(items), cum_weights=iw, k=rows)
    with open(path, "w") as f:
        f.write("user_id,item_id,timestamp\n")
        f.write("".join(f"{a},{b},{880000000 + rng.randrange(10**7)}\n" for a, b in zip(u, it)))


def run(*args):
    """Runs the CLI; returns (exit status, output, peak RSS in bytes)."""
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen([TT, *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        out.seek(0)
        return os.waitstatus_to_exitcode(status), out.read(), usage.ru_maxrss * 1024


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


if sys.argv[1] == "--generate":
    generate(sys.argv[3], int(sys.argv[2]))
    sys.exit(0)
TT = sys.argv[1]

with tempfile.TemporaryDirectory() as work:
    os.chdir(work)
    with open("spec.json", "w") as f:
        f.write(SPEC)
    with open("items.csv", "w") as f:
        f.write("item_id,title\n" + "".join(f"{i},item {i} title {i % 500}\n" for i in range(5000)))
    peaks = {}
    for rows in (200_000, 800_000):
        subprocess.run([sys.executable, SELF, "--generate", str(rows), f"c{rows}.csv"], check=True)
        status, out, _ = run("data", "convert", f"c{rows}.csv", "-o", f"c{rows}.ttc", "--spec", "spec.json")
        check(status == 0, f"convert {rows}: {out}")
        train = ["train", "--spec", "spec.json", "--interactions", f"c{rows}.ttc", "--candidates", "items.csv",
                 "--threads", "2"]
        status, out, peak = run(*train, "--memory-limit", "56MiB")
        check(status == 0 and "memory: limit 56.0 MiB (5% kept free) = fixed" in out and "final: top-1" in out,
              f"{rows} rows under 56MiB: exit {status}: {out[-1500:]}")
        print(f"{rows} rows, --memory-limit 56MiB: peak RSS {peak / MIB:.1f} MiB", file=sys.stderr)
        check(peak < LIMIT, f"{rows} rows: peak RSS {peak / MIB:.1f} MiB is not under the 56 MiB limit")
        peaks[rows] = peak
    grew = (peaks[800_000] - peaks[200_000]) / MIB
    check(grew < 6, f"peak RSS grew by {grew:.1f} MiB from 200,000 to 800,000 rows under the same limit")
    # What the limit prevents: a buffer holding all 800,000 rows takes more than the limited run.
    status, out, whole = run("train", "--spec", "spec.json", "--interactions", "c800000.ttc", "--candidates",
                             "items.csv", "--threads", "2", "--shuffle-buffer", "1000000")
    print(f"800000 rows, a buffer of every row: peak RSS {whole / MIB:.1f} MiB", file=sys.stderr)
    check(status == 0 and whole > peaks[800_000] + 8 * MIB,
          f"a buffer of every row peaks at {whole / MIB:.1f} MiB, not above the limited "
          f"{peaks[800_000] / MIB:.1f} MiB + 8: the test measures nothing")

    base = ["train", "--spec", "spec.json", "--interactions", "c200000.ttc", "--candidates", "items.csv",
            "--threads", "2"]
    status, out, _ = run(*base, "--memory-limit", "20MiB")
    check(status != 0 and "the memory limit of 20.0 MiB cannot hold" in out and "raise the limit to at least" in out,
          f"20MiB: exit {status}: {out[-800:]}")
    status, out, _ = run(*base, "--memory-limit", "56MiB", "--shuffle-buffer", "190000")
    check(status != 0 and "plus a shuffle buffer of 190000 rows" in out, f"56MiB + a large buffer: {out[-800:]}")
    status, out, _ = run(*base, "--memory-limit", "56XB")
    check(status != 0 and "'56XB' is not a size" in out, f"56XB: {out[-400:]}")
    status, out, _ = run(*base, "--memory-limit", "56MiB", "--skip-unknown-candidates")
    check(status != 0 and "not supported with --memory-limit" in out, f"--skip-unknown-candidates: {out[-400:]}")
    status, out, _ = run("train", "--spec", "spec.json", "--interactions", "c200000.csv", "--candidates",
                         "items.csv", "--memory-limit", "56MiB")
    check(status != 0 and "--memory-limit streams a columnar file" in out, f"CSV: {out[-400:]}")

sys.exit(1 if failures else 0)
