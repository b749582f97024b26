"""Freshness lag: a file written on the master → the file on a tier-2, triggered vs polled.

Real parts: the test RabbitMQ (scripts/host-rabbitmq.sh), one rsync daemon on 127.0.0.1
with a module per tree, and the agents as they run in production — ``fedbus mirror`` in mode
master (tree watch), tier1 and tier2, each with its ``fedbus relay``.  Beside them, in the
same run, the baseline: a timer-polling chain (p1 pulls the whole tree from the master every
``--interval`` seconds, p2 from p1 on its own timer, as cron-driven mirrors do).  Each of
``--changes`` rounds writes a new file in a different directory of the master and measures
when it appears on t2 (triggered) and on p2 (polled).

    python benchmarks/mirror_freshness.py [--changes 10] [--interval 10] [--files 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE.parent / "src"))

from _common import Vhost, machine, percentile, write  # noqa: E402
from test_mirror import Net, digest, wait_for  # noqa: E402

from fedbus.mirror import rsync  # noqa: E402


def poller(upstream: str, dest: Path, interval: float, stop: threading.Event) -> None:
    argv, _ = rsync.command(upstream, dest, None)
    stop.wait(random.uniform(0, interval))  # a timer's phase is arbitrary
    while not stop.is_set():
        subprocess.run(argv, capture_output=True, check=False)
        stop.wait(interval)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--interval", type=float, default=10.0, help="polling interval (s)")
    ap.add_argument("--files", type=int, default=2000, help="files in the tree")
    ap.add_argument("--scan-interval", type=float, default=1.0)
    ap.add_argument("--quiet-period", type=float, default=1.0)
    args = ap.parse_args()
    info = machine()
    vhost = Vhost()
    base = Path(tempfile.mkdtemp(prefix="mirror-fresh-", dir="/var/tmp"))
    net = Net(base, vhost.url)
    stop = threading.Event()
    try:
        master = net.tree("master")
        for i in range(args.files):
            p = master / f"d{i % 100:03d}" / f"f{i}.rpm"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(os.urandom(512))
        net.start_daemon(["master", "t1", "t2", "p1", "p2"])
        net.agent("master", "master", scan_interval=args.scan_interval,
                  quiet_period=args.quiet_period)
        net.agent("t1", "tier1", net.upstream("master"))
        net.agent("t2", "tier2", net.upstream("t1"), "t1")
        wait_for(lambda: digest(net.tree("t2")) == digest(master), 120, "t2 catch-up")
        threads = [threading.Thread(target=poller, args=(net.upstream(u), net.tree(d),
                                                         args.interval, stop), daemon=True)
                   for u, d in (("master", "p1"), ("p1", "p2"))]
        for t in threads:
            t.start()
        time.sleep(3)
        # Changes at random moments (independent of the timers' phase), watched together.
        pending: dict[str, tuple[float, dict[str, float]]] = {}
        next_change, k = time.time(), 0
        deadline = None
        while True:
            now = time.time()
            if k < args.changes and now >= next_change:
                rel = f"d{(k * 13) % 100:03d}/new-{k}.rpm"
                (master / rel).write_bytes(os.urandom(4096))
                pending[rel] = (time.time(), {})
                k += 1
                next_change = now + random.uniform(1.0, 4.0)
                deadline = now + 4 * args.interval + 60
            for rel, (t0, seen) in pending.items():
                for tree in ("t2", "p2"):
                    if tree not in seen and (net.tree(tree) / rel).exists():
                        seen[tree] = time.time() - t0
            if k == args.changes and all(len(s) == 2 for _, s in pending.values()):
                break
            assert deadline is None or now < deadline, f"not all seen: {pending}"
            time.sleep(0.05)
        triggered = [s["t2"] for _, s in pending.values()]
        polled = [s["p2"] for _, s in pending.values()]
        for rel, (_, s) in pending.items():
            print(f"{rel}: triggered {s['t2']:.2f}s, polled {s['p2']:.2f}s", flush=True)
    finally:
        stop.set()
        net.close()
        shutil.rmtree(base, ignore_errors=True)
        vhost.close()

    def row(name: str, v: list[float]) -> str:
        return (f"| {name} | {len(v)} | {percentile(v, 50):.2f} | {percentile(v, 90):.2f} | "
                f"{max(v):.2f} |")

    p50t, p50p = percentile(triggered, 50), percentile(polled, 50)
    body = "\n".join([
        "| chain | changes | p50 lag (s) | p90 (s) | max (s) |", "|---|---|---|---|---|",
        row("triggered: master agent → tier-1 → tier-2 (fedbus)", triggered),
        row(f"baseline: timer polling every {args.interval:.0f} s on both tiers", polled),
        "", f"Triggered p50 **{p50t:.2f} s** (goal < 10 s); polling p50 {p50p:.2f} s "
        f"= **{p50p / p50t:.1f}x** the triggered lag with a {args.interval:.0f} s timer.  "
        "A polling mirror's lag grows with its interval (about one interval on average for "
        "two tiers, plus the full-tree pulls: hours with the usual timers); the triggered lag "
        "does not depend on it.  Changes are made at random moments, 1 to 4 s apart, so the "
        "timers' phase is not favoured or penalised.",
        "", f"Lag = a new file written on the master → the file visible on the tier-2.  The "
        f"triggered lag includes the master's scan ({args.scan_interval:g} s) and quiet "
        f"period ({args.quiet_period:g} s), the relays, the broker and two rsync pulls. "
        f"Tree: {args.files:,} files in 100 directories."])
    write("mirror_freshness", "Mirror: freshness lag, triggered vs timer polling", info, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
