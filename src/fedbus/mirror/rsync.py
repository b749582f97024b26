"""The rsync command line of a pull, and what its ``--stats`` say.

A pull of named paths is ONE rsync run: ``--files-from`` lists the directories (relative to
the module), ``--relative`` keeps them in place, ``-r`` recurses into each, ``--delete``
removes what vanished inside them and ``--delete-missing-args`` removes a named directory that
vanished altogether.  A whole-tree pull is the module's root with ``--delete``.  Both use
``--delay-updates``: the changed files of a run are renamed into place together at its end, so
clients are never served a tree half-way through a pull.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fedbus.mirror.paths import Paths

BASE_OPTIONS = (
    "-a",  # archive: perms, times, symlinks, devices
    "--hard-links",
    "--delete",
    "--delay-updates",
    "--stats",
    "--no-motd",
)


def source_url(upstream: str) -> str:
    """``rsync://host[:port]/module`` with the trailing ``/`` rsync needs for contents."""
    return upstream.rstrip("/") + "/"


def command(
    upstream: str,
    dest: str | Path,
    paths: Paths,
    *,
    timeout: int = 600,
    contimeout: int = 15,
    extra: tuple[str, ...] = (),
    rsync: str = "rsync",
) -> tuple[list[str], bytes | None]:
    """The argv of the pull and the bytes to feed its stdin (the ``--files-from`` list)."""
    argv = [rsync, *BASE_OPTIONS, f"--timeout={timeout}"]
    if upstream.startswith("rsync://"):
        argv.append(f"--contimeout={contimeout}")  # daemon connections only
    argv += extra
    stdin: bytes | None = None
    if paths is not None:
        argv += ["-r", "--relative", "--files-from=-", "--from0", "--delete-missing-args"]
        stdin = b"".join(p.encode("utf-8") + b"\0" for p in sorted(paths))
    argv += [source_url(upstream), str(dest).rstrip("/") + "/"]
    return argv, stdin


@dataclass(frozen=True)
class Stats:
    files: int = 0  # regular files transferred
    bytes: int = 0  # bytes received
    deleted: int = 0


_NUM = r"([\d,.]+)"


def _number(text: str, label: str) -> int:
    m = re.search(re.escape(label) + r":\s*" + _NUM, text)
    return int(m.group(1).replace(",", "").replace(".", "")) if m else 0


def parse_stats(output: str) -> Stats:
    """The transferred files, received bytes and deleted entries of an rsync ``--stats``
    output (absent figures count 0)."""
    return Stats(
        files=_number(output, "Number of regular files transferred"),
        bytes=_number(output, "Total bytes received"),
        deleted=_number(output, "Number of deleted files"),
    )


# rsync exit codes worth a word in a log (the rest are in rsync(1)).
EXIT_CODES = {
    5: "error starting client-server protocol",
    10: "error in socket I/O",
    12: "error in rsync protocol data stream",
    20: "killed by a signal",
    23: "partial transfer due to error",
    24: "partial transfer: source files vanished",
    30: "timeout in data send/receive",
    35: "timeout waiting for daemon connection",
}


def describe_exit(code: int, stderr: str) -> str:
    """One line: the exit code, its meaning and rsync's last error line."""
    last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    meaning = EXIT_CODES.get(code, "error")
    return f"rsync exit {code} ({meaning})" + (f": {last}" if last else "")
