#!/usr/bin/env python3
"""The atheris part of the fuzz layer: each ``atheris_<target>.py`` for a bounded time.

    python tests/fuzz/run_atheris.py [TARGET…]

Each target starts from its committed seeds (``tests/fuzz/corpus/<target>/``) and the
inputs earlier runs found (``.cache/fuzz/corpus/<target>/``), runs for
``$FEDBUS_FUZZ_SECONDS`` (default 10) with ``-rss_limit_mb=1024`` and a fixed seed, and
logs to ``.cache/fuzz/<target>.log``.  A crash fails the run with one line naming the
input atheris wrote (``.cache/fuzz/<target>-crash-…``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / ".cache" / "fuzz"
TARGETS = sorted(
    p.stem.removeprefix("atheris_") for p in HERE.glob("atheris_*.py") if p.stem != "atheris_lib"
)


def run(target: str, seconds: int) -> bool:
    work = OUT / "corpus" / target
    work.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob(f"{target}-*"):
        old.unlink()
    log = OUT / f"{target}.log"
    argv = [
        sys.executable,
        str(HERE / f"atheris_{target}.py"),
        str(work),
        str(HERE / "corpus" / target),
        f"-max_total_time={seconds}",
        "-rss_limit_mb=1024",
        "-seed=1",
        "-timeout=10",
        "-print_final_stats=1",
        f"-artifact_prefix={OUT}/{target}-",
    ]
    start = time.monotonic()
    with log.open("wb") as out:
        code = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, timeout=seconds + 120
        ).returncode
    took = time.monotonic() - start
    text = log.read_text(errors="replace")
    runs = re.findall(r"stat::number_of_executed_units: *(\d+)", text)
    cov = re.findall(r"cov: (\d+)", text)
    if code == 0:
        print(
            f"fuzz: {target}: {runs[-1] if runs else '?'} executions in {took:.0f} s, "
            f"coverage {cov[-1] if cov else '?'}, no crash"
        )
        return True
    crashes = sorted(OUT.glob(f"{target}-*"), key=lambda p: p.stat().st_mtime)
    where = crashes[-1].relative_to(ROOT) if crashes else log.relative_to(ROOT)
    print(
        f"fuzz: {target}: CRASH (exit {code}), input in {where}, log in {log.relative_to(ROOT)}",
        file=sys.stderr,
    )
    return False


def main(argv: list[str]) -> int:
    targets = argv or TARGETS
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        print(
            f"fuzz: unknown target(s) {', '.join(unknown)} ({', '.join(TARGETS)})", file=sys.stderr
        )
        return 2
    seconds = int(os.environ.get("FEDBUS_FUZZ_SECONDS", "10"))
    OUT.mkdir(parents=True, exist_ok=True)
    ok = [run(t, seconds) for t in targets]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
