"""Notifier matching: instructions and last-level cache misses per message (cachegrind).

The time per message at 100k users against 1k users (notifier_matching.py) depends on how
many cache lines a message touches that are not in the CPU caches any more — and, on the
shared 2-CPU machine, on what the other jobs do to those caches at that moment: the same
code measured minutes apart differs by 30 %.  This counts instead, deterministically, what
the work is: valgrind's callgrind simulates the caches (last level: ``--ll``, 8 MiB by
default) and counts, per message, the instructions and the last-level misses (reads and
writes; a write miss is mostly a reference-count update on an object not in the cache).

Same population and stream as notifier_matching.py; each size in its own process: the index
is built without instrumentation (valgrind started with it off), then ``--messages``
messages warm the simulated caches and ``--messages`` more are counted (only the calls
inside ``sum()``, see ``--toggle-collect``).

    python benchmarks/notifier_matching_misses.py [--sizes 1000,100000] [--messages 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def child(n: int, count: int, go: Path) -> None:
    """Build the index (uninstrumented), wait for ``go``, then match 2 x ``count`` messages."""
    import gc

    from notifier_matching import PREFIX, population, stream

    from fedbus.notifier.facts import facts_of
    from fedbus.notifier.index import Index
    from fedbus.notifier.worker import load_index

    rnd = random.Random(n)
    users = population(n, rnd)
    index = Index(PREFIX)
    load_index(lambda: index.load(users))
    facts = [facts_of(m) for m in stream(n, 2 * count, rnd)]
    gc.collect()
    gc.freeze()
    print("READY", flush=True)
    while not go.exists():
        time.sleep(0.2)
    for f in facts[:count]:  # warms the simulated caches, not counted
        index.match(f)
    notes = sum(map(len, map(index.match, facts[count:])))  # counted: the calls inside sum()
    print(f"NOTES {notes / count:.2f}", flush=True)


TOTALS = re.compile(r"^summary:\s+(.*)$", re.M)
EVENTS = re.compile(r"^events:\s+(.*)$", re.M)


def measure(n: int, count: int, ll: str) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="fedbus-cg-"))
    out, go = tmp / "callgrind.out", tmp / "go"
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
           "--cache-sim=yes", f"--LL={ll}", "--toggle-collect=builtin_sum",
           f"--callgrind-out-file={out}", sys.executable, __file__, "--child", str(n),
           "--messages", str(count), "--go", str(go)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    notes = 0.0
    try:
        for line in proc.stdout:
            if line.startswith("READY"):
                subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True,
                               capture_output=True)  # fmt: skip
                go.touch()
            elif line.startswith("NOTES"):
                notes = float(line.split()[1])
        if proc.wait() != 0:
            raise SystemExit(f"callgrind run for {n} users failed ({proc.returncode})")
        text = out.read_text()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    events = EVENTS.findall(text)[0].split()
    totals = dict(zip(events, (int(x) for x in TOTALS.findall(text)[0].split()), strict=True))
    return {"users": n, "notes": notes, "ir": totals["Ir"] / count,
            "llr": totals["DLmr"] / count, "llw": totals["DLmw"] / count}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--ll", default="8388608,16,64", help="simulated last-level cache: "
                        "size,associativity,line (default 8 MiB, 16-way, 64 B)")  # fmt: skip
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--go", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.messages, args.go)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (Debian: apt-get install valgrind)")
    from _common import machine, write

    info = machine()
    rows = [measure(int(s), args.messages, args.ll) for s in args.sizes.split(",")]
    base = rows[0]
    lines = ["| users | notifications/msg | instructions/msg | LL read misses/msg "
             "| LL write misses/msg | **LL misses/msg** | misses vs smallest |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        total = r["llr"] + r["llw"]
        lines.append(f"| {r['users']:,.0f} | {r['notes']:.1f} | {r['ir']:,.0f} | {r['llr']:.1f} "
                     f"| {r['llw']:.1f} | **{total:.1f}** "
                     f"| {total / (base['llr'] + base['llw']):.2f}x |")  # fmt: skip
    body = (
        f"{args.messages:,} messages counted per size after {args.messages:,} warming the "
        f"simulated caches; last-level cache simulated as `{args.ll}` (size, ways, line).  "
        "Counts, not times: the same on any machine load.\n\n" + "\n".join(lines) + "\n"
    )
    write("notifier_matching_misses", "Notifier matching: instructions and cache misses per "
          "message (cachegrind)", {**info, "valgrind": _valgrind_version()}, body,
          __doc__.split("\n\n")[1] if __doc__ else "")  # fmt: skip
    return 0


def _valgrind_version() -> str:
    out = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout
    return out.strip() or "unknown"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")  # the same dict layouts on every run
    sys.exit(main())
