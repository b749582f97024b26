"""The whole bus's converge time from scratch, and the time of the idempotent second run.

Default: runs the molecule scenario ``default`` (the whole bus, 8 containers) step by
step -- destroy, create, prepare, converge, idempotence, verify, destroy -- and times
each step: ``converge`` is the converge from scratch, ``idempotence`` the second run,
which molecule fails unless every host reports ``changed=0``; ``verify`` runs the seed's
use cases and ``playbooks/canary.yml``. This is the sequence CI runs.

``--local`` does what ``make up`` does instead, on the ``local`` inventory: removes the
local containers, creates them, sets up the stand-ins, times ``playbooks/site.yml`` twice
(the second run must report ``changed=0``), then ``playbooks/canary.yml``.

Writes benchmarks/results/converge_time.md (``--local``: converge_time_local.md).

    . scripts/env.sh && python benchmarks/converge_time.py [--local [--keep]]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = "inventories/local/hosts.yml"
LOG = Path("/tmp/fedbus-converge-time.log")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.M)
MOLECULE_STEPS = ("destroy", "create", "prepare", "converge", "idempotence", "verify",
                  "destroy")


def run(argv: list[str], what: str) -> tuple[float, str]:
    """Run one step, append its output to LOG, fail with the tail of it."""
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    with LOG.open("a") as log:
        log.write(f"\n===== {what} ({elapsed:.0f} s, rc {proc.returncode})\n")
        log.write(proc.stdout + proc.stderr)
    print(f"converge_time: {what}: {elapsed:.0f} s (rc {proc.returncode})", flush=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:] + proc.stderr[-3000:])
        raise SystemExit(f"converge_time: {what} failed (rc {proc.returncode}); log: {LOG}")
    return elapsed, proc.stdout + proc.stderr


def recap(output: str) -> dict[str, tuple[int, int]]:
    """host -> (ok, changed) summed over the PLAY RECAP."""
    out: dict[str, tuple[int, int]] = {}
    for host, ok, changed, unreachable, failed in RECAP.findall(output):
        if int(unreachable) or int(failed):
            raise SystemExit(f"converge_time: {host} unreachable={unreachable} failed={failed}")
        prev = out.get(host, (0, 0))
        out[host] = (prev[0] + int(ok), prev[1] + int(changed))
    return out


def summary(first: dict[str, tuple[int, int]], second: dict[str, tuple[int, int]]) -> str:
    changed = {h: c for h, (_, c) in second.items() if c}
    return (f"First run: {len(first)} hosts, {sum(ok for ok, _ in first.values())} tasks ok, "
            f"{sum(c for _, c in first.values())} changed. Second run: "
            + ("**changed=0 on every host**." if not changed else f"CHANGED on {changed}."))


def molecule() -> tuple[str, list[str], bool]:
    times: list[tuple[str, float]] = []
    outputs: dict[str, str] = {}
    for step in MOLECULE_STEPS:
        elapsed, out = run(["molecule", step, "-s", "default"], f"molecule {step}")
        times.append((step, elapsed))
        outputs.setdefault(step, out)
    first, second = recap(outputs["converge"]), recap(outputs["idempotence"])
    passed = re.search(r"(\d+) passed", outputs["verify"])
    rows = [f"| {step} | {seconds:.0f} |" for step, seconds in times]
    rows = [r.replace("| converge |", "| **converge from scratch** |")
             .replace("| idempotence |", "| **idempotence (second converge)** |") for r in rows]
    total = sum(s for _, s in times)
    body = [
        "`molecule/default`, the whole bus on 8 containers from the local base image: broker, "
        "git and Koji wedge hosts, notifier, MTA/IRC stand-ins, mirror master, tier-1, tier-2. "
        "The steps are those of `molecule test -s default` (the CI sequence).", "",
        "| step | seconds |", "|---|---|", *rows, f"| total | {total:.0f} ({total / 60:.1f} min) |",
        "", summary(first, second),
        f"Verify (use cases end to end, canary.yml): {passed.group(0) if passed else '?'}.",
    ]
    return "converge_time.md", body, any(c for _, c in second.values())


def local(keep: bool) -> tuple[str, list[str], bool]:
    def playbook(name: str, *extra: str) -> tuple[float, str]:
        return run(["ansible-playbook", "-i", INVENTORY, f"playbooks/{name}", *extra], name)

    playbook("local_containers.yml", "-e", "local_bus_state=absent")
    subprocess.run(["scripts/build-image.sh"], cwd=ROOT, check=True, capture_output=True)
    create, _ = playbook("local_containers.yml")
    stand_ins, _ = playbook("local_stand_ins.yml")
    first, out1 = playbook("site.yml")
    second, out2 = playbook("site.yml")
    canary, out3 = playbook("canary.yml")
    if not keep:
        playbook("local_containers.yml", "-e", "local_bus_state=absent")
    body = [
        "`inventories/local` (`make up`), containers from the local base image.", "",
        "| step | seconds |", "|---|---|",
        f"| create the containers (local_containers.yml) | {create:.0f} |",
        f"| local stand-ins (MTA, IRC server, service users) | {stand_ins:.0f} |",
        f"| **site.yml from scratch** | **{first:.0f}** |",
        f"| **site.yml again (idempotent)** | **{second:.0f}** |",
        f"| canary.yml (a canary through every relay) | {canary:.0f} |", "",
        summary(recap(out1), recap(out2)),
        f"canary.yml: {'passed' if 'canaries arrived' in out3 else 'no canary report'}.",
    ]
    return "converge_time_local.md", body, any(c for _, c in recap(out2).values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="the make-up flow (inventory local)")
    parser.add_argument("--keep", action="store_true", help="--local: leave the containers up")
    args = parser.parse_args()
    load = os.getloadavg()
    LOG.write_text("")
    name, body, changed = local(args.keep) if args.local else molecule()
    rerun = ". scripts/env.sh && python benchmarks/converge_time.py" + (
        " --local" if args.local else "")
    end = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=False).stdout.strip()
    lines = ["# Whole-bus converge time", "", *body, "", "## Machine", "",
             f"- commit: {commit or 'unknown'}",
             f"- date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
             f"- nproc: {os.cpu_count()}", f"- python: {platform.python_version()}",
             f"- load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
             f"at the end: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}", "",
             "## Rerun", "", "```", rerun, "```", ""]
    path = ROOT / "benchmarks" / "results" / name
    path.write_text("\n".join(lines))
    print(path.read_text())
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
