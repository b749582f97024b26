"""A master's watch of its own tree: periodic scan, quiet period, out_of_sync / in_sync.

For a master without a NetApp (whose poller says when a SnapMirror transfer runs), the agent
scans the tree every few seconds.  A :class:`Snapshot` keeps, per directory, a digest of its
files (name, size, mtime) and the names of its subdirectories; :func:`changed` names the
directories whose files changed, plus subdirectories that appeared or vanished (a pull of
those creates or deletes them).  :class:`Watch` turns scans into events: the first change →
``out_of_sync``; no further change for ``quiet`` seconds → ``in_sync`` with every directory
that changed meanwhile.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from fedbus.mirror.paths import Paths, collapse

Entry = tuple[bytes, frozenset[str]]  # (digest of the files, subdirectory names)
Snapshot = dict[str, Entry]


def scan(root: str | Path) -> Snapshot:
    """Every directory under ``root`` (``.`` is the root) with its files' digest."""
    snap: Snapshot = {}
    stack = ["."]
    base = str(root)
    while stack:
        rel = stack.pop()
        full = base if rel == "." else os.path.join(base, rel)
        digest = hashlib.blake2b(digest_size=16)
        subdirs: list[str] = []
        try:
            entries = sorted(os.scandir(full), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(e.name)
                stack.append(e.name if rel == "." else f"{rel}/{e.name}")
            else:
                digest.update(f"{e.name}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}\n"
                              .encode("utf-8", "surrogateescape"))
        snap[rel] = (digest.digest(), frozenset(subdirs))
    return snap


def changed(old: Snapshot, new: Snapshot) -> set[str]:
    """Directories to pull so that a copy of ``old`` becomes ``new``."""
    out: set[str] = set()
    for rel, (files, subdirs) in new.items():
        before = old.get(rel)
        if before is None:
            continue  # a new directory: its parent names it
        if before[0] != files:
            out.add(rel)
        for name in subdirs ^ before[1]:
            out.add(name if rel == "." else f"{rel}/{name}")
    return out


@dataclass
class Event:
    kind: str  # "out_of_sync" | "in_sync"
    paths: Paths
    changed_at: float  # wall clock of the first change seen in this round


@dataclass
class Watch:
    quiet: float = 3.0
    last: Snapshot | None = None
    dirty: set[str] = field(default_factory=set)
    first_change: float | None = None
    last_change: float = 0.0

    def observe(self, snap: Snapshot, now: float) -> Event | None:
        """Feed a scan taken at ``now`` (wall clock); the event to publish, if any."""
        if self.last is None:
            self.last = snap
            return None
        diff = changed(self.last, snap)
        self.last = snap
        if diff:
            self.dirty |= diff
            self.last_change = now
            if self.first_change is None:
                self.first_change = now
                return Event("out_of_sync", collapse(self.dirty), now)
            return None
        if self.first_change is not None and now - self.last_change >= self.quiet:
            event = Event("in_sync", collapse(self.dirty), self.first_change)
            self.dirty, self.first_change = set(), None
            return event
        return None
