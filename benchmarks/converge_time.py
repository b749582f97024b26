"""The whole bus's converge time from scratch, and the time of the idempotent second run.

Does what ``make up`` does, on the ``local`` inventory (9 hosts' worth of roles on
8 containers): removes the local containers, creates them, sets up the local stand-ins,
then times ``playbooks/site.yml`` twice. The second run must report ``changed=0`` on every
host; then ``playbooks/verify.yml`` must pass. Writes benchmarks/results/converge_time.md.

    . scripts/env.sh && python benchmarks/converge_time.py [--keep]
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
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.M)


def playbook(name: str, *extra: str) -> tuple[float, str]:
    started = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY, f"playbooks/{name}", *extra],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        sys.stdout.write(run.stdout[-6000:] + run.stderr[-3000:])
        raise SystemExit(f"converge_time: {name} failed (rc {run.returncode})")
    return elapsed, run.stdout


def recap(output: str) -> dict[str, tuple[int, int]]:
    """host -> (ok, changed) summed over the PLAY RECAP."""
    out: dict[str, tuple[int, int]] = {}
    for host, ok, changed, unreachable, failed in RECAP.findall(output):
        if int(unreachable) or int(failed):
            raise SystemExit(f"converge_time: {host} unreachable={unreachable} failed={failed}")
        out[host] = (int(ok), int(changed))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the containers up")
    args = parser.parse_args()
    load = os.getloadavg()
    playbook("local_containers.yml", "-e", "local_bus_state=absent")
    subprocess.run(["scripts/build-image.sh"], cwd=ROOT, check=True, capture_output=True)
    create, _ = playbook("local_containers.yml")
    stand_ins, _ = playbook("local_stand_ins.yml")
    first, out1 = playbook("site.yml")
    second, out2 = playbook("site.yml")
    changed = {h: c for h, (_, c) in recap(out2).items() if c}
    verify, out3 = playbook("verify.yml")
    hosts = recap(out1)
    if not args.keep:
        playbook("local_containers.yml", "-e", "local_bus_state=absent")
    rows = [
        f"| create the containers (local_containers.yml) | {create:.0f} |",
        f"| local stand-ins (MTA, IRC server, service users) | {stand_ins:.0f} |",
        f"| **site.yml from scratch** | **{first:.0f}** |",
        f"| **site.yml again (idempotent)** | **{second:.0f}** |",
        f"| verify.yml (a canary through every relay) | {verify:.0f} |",
    ]
    tasks = sum(ok for ok, _ in hosts.values())
    body = "\n".join([
        f"`inventories/local` ({len(hosts)} hosts: broker, git and Koji wedge hosts, notifier, "
        "MTA/IRC stand-ins, mirror master, tier-1, tier-2), containers from the local base "
        "image.", "",
        "| step | seconds |", "|---|---|", *rows, "",
        f"First run: {tasks} tasks ok over all hosts, "
        f"{sum(c for _, c in hosts.values())} changed. Second run: "
        + ("**changed=0 on every host**." if not changed else f"CHANGED on {changed}."),
        f"verify.yml: {'passed' if 'canaries arrived' in out3 else 'no canary report'}.",
    ])
    lines = ["# Whole-bus converge time", "", body, "", "## Machine", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
             f"- nproc: {os.cpu_count()}", f"- python: {platform.python_version()}",
             f"- load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", "",
             "## Rerun", "", "```", ". scripts/env.sh && python benchmarks/converge_time.py",
             "```", ""]
    path = ROOT / "benchmarks" / "results" / "converge_time.md"
    path.write_text("\n".join(lines))
    print(path.read_text())
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
