"""Notifier matching: this tree's index against an earlier commit's, in one process.

``notifier_matching.py`` compares sizes within one layout; a change of layout also needs
the absolute figures of both layouts under the same conditions.  This loads
``src/fedbus/notifier/index.py`` as it was at ``--base`` (``git show``) beside the current
one, builds both indexes for 1k and 100k users (same population and message stream as
``notifier_matching.py``), checks that they give the same notifications, and times
``match`` — alone, and followed by reading each notification's user and destination as
rendering its job does (``+ targets``) — in rounds that alternate between the four (layout,
size) cases, in CPU seconds of this process pinned to one CPU.

    python benchmarks/notifier_matching_ab.py [--base 35f6f9e] [--messages 10000] [--rounds 9]

(a module without ``targets_of`` — this tree — is read through ``Notification.target``.)
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, write
from notifier_matching import PREFIX, population, stream

import fedbus.notifier.index as current
from fedbus.notifier.facts import facts_of

ROOT = Path(__file__).resolve().parents[1]


def load_base(commit: str, tmp: Path) -> ModuleType:
    source = subprocess.run(["git", "show", f"{commit}:src/fedbus/notifier/index.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    path = tmp / "index_base.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("index_base", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["index_base"] = module
    spec.loader.exec_module(module)
    return module


def build(mod: ModuleType, users: list[Any]) -> Any:
    """The users as ``mod``'s own entry types (each layout has its own classes)."""
    index = mod.Index(PREFIX)
    index.load(
        mod.UserEntry(
            u.id,
            u.name,
            u.paused,
            u.muted_until,
            tuple(
                mod.RuleEntry(
                    r.id,
                    r.kind,
                    r.value,
                    r.min_severity,
                    r.exclude_mine,
                    r.exclude_topics,
                    r.exclude_services,
                    r.destination_ids,
                )
                for r in u.rules
            ),
            tuple(
                mod.DestinationEntry(d.id, d.kind, d.address, d.delivery, d.digest_cap)
                for d in u.destinations
            ),
            u.packages,
        )
        for u in users
    )
    return index


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="35f6f9e", help="the commit to compare with")
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    info = machine()
    with tempfile.TemporaryDirectory() as tmp:
        base = load_base(args.base, Path(tmp))
    layouts = [(f"{args.base} (base)", base), ("this tree", current)]
    cases: list[tuple[int, str, Any, list[Any], list[float], list[float]]] = []
    gc.disable()
    for n in (1000, 100000):
        rnd = random.Random(n)
        users = population(n, rnd)
        facts = [facts_of(m) for m in stream(n, args.messages, rnd)]
        for label, mod in layouts:
            cases.append((n, label, build(mod, users), facts, [], []))
    gc.collect()
    gc.freeze()
    gc.enable()
    for n in (1000, 100000):
        a, b = (c for c in cases if c[0] == n)
        for f in a[3][:2000]:
            got = {(m.user_id, m.destination.id, tuple(sorted(m.rule_ids))) for m in a[2].match(f)}
            want = {(m.user_id, m.destination.id, tuple(sorted(m.rule_ids)))
                    for m in b[2].match(f)}  # fmt: skip
            if got != want:
                raise SystemExit(f"the layouts disagree at {n} users on {f}: {got ^ want}")
    for _ in range(args.rounds):
        for _n, label, index, facts, times, full in cases:
            mod = base if label.endswith("(base)") else current
            t0 = time.process_time()
            for f in facts:
                index.match(f)
            times.append(time.process_time() - t0)
            t0 = time.process_time()
            for f in facts:
                matches = index.match(f)
                of = getattr(mod, "targets_of", None)  # older layouts: one pass over the table
                for t in of(matches) if of else [m.target for m in matches]:
                    t.user, t.destination.kind, t.destination.address  # noqa: B018
            full.append(time.process_time() - t0)
    rate: dict[tuple[int, str], tuple[float, float]] = {}
    for n, label, _i, _f, times, full in cases:
        rate[(n, label)] = (args.messages / min(times), args.messages / statistics.median(times))
        rate[(n, f"{label} + targets")] = (args.messages / min(full),
                                           args.messages / statistics.median(full))  # fmt: skip
    lines = ["| layout | 1k users msg/s (best / median) | 100k users msg/s (best / median) "
             "| time/msg 100k ÷ 1k (best / median) |", "|---|---|---|---|"]  # fmt: skip
    for label in [
        lab for base_label, _m in layouts for lab in (base_label, f"{base_label} + targets")
    ]:
        (s1, m1), (s2, m2) = rate[(1000, label)], rate[(100000, label)]
        lines.append(f"| {label} | {s1:,.0f} / {m1:,.0f} | {s2:,.0f} / {m2:,.0f} "
                     f"| **{s1 / s2:.2f}x** / {m1 / m2:.2f}x |")  # fmt: skip
    (b1, _), (b2, _) = rate[(1000, layouts[0][0])], rate[(100000, layouts[0][0])]
    (c1, _), (c2, _) = rate[(1000, layouts[1][0])], rate[(100000, layouts[1][0])]
    (a1, _), (a2, _) = (rate[(size, f"{layouts[0][0]} + targets")] for size in (1000, 100000))
    (t1, _), (t2, _) = (rate[(size, f"{layouts[1][0]} + targets")] for size in (1000, 100000))
    body = (
        f"{args.messages:,} messages per case, best and median of {args.rounds} rounds "
        "alternating between the four cases, messages per CPU-second of one process pinned "
        "to one CPU.  Both layouts gave the same notifications (user, destination, rule ids) "
        "on the first 2,000 messages of each size (checked in the run).\n\n"
        + "\n".join(lines)
        + f"\n\nThis tree against the base, best rounds: 1k users **{c1 / b1 - 1:+.0%}**, "
        f"100k users **{c2 / b2 - 1:+.0%}**; with `+ targets` (the whole path, what a worker "
        f"does): 1k users **{t1 / a1 - 1:+.0%}**, 100k users **{t2 / a2 - 1:+.0%}**.  "
        "`+ targets` reads each notification's user and destination after matching (through "
        "the layout's `targets_of` if it has one, else `Notification.target`): a layout whose "
        "`match` takes the `Target`s itself pays that read inside `match`, so the `+ targets` "
        "rows compare the same work.\n"
    )
    load = os.getloadavg()
    info["load average at end"] = f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    title = "Notifier matching: this tree's index against an earlier commit's, same process"
    write("notifier_matching_ab", title, info, body, __doc__.split("\n\n")[1] if __doc__ else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
