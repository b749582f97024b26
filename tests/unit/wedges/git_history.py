"""A git history with the cases the git hook's golden tests compare, pushed in stages.

Every commit has fixed names and dates, so the same history (same commit ids) comes out on
every machine; ``data/git_upstream_bodies.json`` holds what fedora-messaging-git-hook's
algorithm gives for these commits.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Zoë Example",
    "GIT_AUTHOR_EMAIL": "zoe@example.org",
    "GIT_COMMITTER_NAME": "Dummy User",
    "GIT_COMMITTER_EMAIL": "dummy@example.com",
    "LC_ALL": "C",
}
OFFSETS = ("+0530", "-0700", "+0000", "+0100")
RECORDER = "#!/bin/sh\ncat >> \"$GIT_DIR/pushed\"\n"


class History:
    def __init__(self, root: Path) -> None:
        self.bare = root / "srv" / "rpms" / "python-fedbus.git"
        self.work = root / "work"
        self.n = 0

    def git(self, *args: str, cwd: Path | None = None, **env: str) -> str:
        out = subprocess.run(["git", *args], cwd=cwd or self.work, check=True,
                             capture_output=True, env={**os.environ, **ENV, **env})
        return out.stdout.decode("utf-8", "replace")

    def commit(self, *args: str, verb: tuple[str, ...] = ("commit", "-q")) -> None:
        self.n += 1
        when = f"{1796000000 + 3600 * self.n} {OFFSETS[self.n % len(OFFSETS)]}"
        self.git(*verb, *args, GIT_AUTHOR_DATE=f"{1795000000 + self.n} +0200",
                 GIT_COMMITTER_DATE=when)

    def write(self, name: str, data: bytes) -> None:
        (self.work / name).write_bytes(data)
        self.git("add", "--", name)

    def push(self, *refspecs: str) -> str:
        pushed = self.bare / "pushed"
        pushed.write_text("")
        self.git("push", "-q", "--force", "origin", *refspecs)
        return pushed.read_text()


def stages(root: Path) -> Iterator[tuple[str, str]]:
    """Build the history, yielding ``(stage, post-receive stdin)`` after each push."""
    h = History(root)
    h.bare.parent.mkdir(parents=True)
    h.git("init", "-q", "--bare", "-b", "main", str(h.bare), cwd=root)
    hook = h.bare / "hooks" / "post-receive"
    hook.write_text(RECORDER)
    hook.chmod(0o755)
    h.git("clone", "-q", str(h.bare), str(h.work), cwd=root)
    h.git("checkout", "-q", "-b", "main")

    # upstream's test_basic: an empty root commit, then an empty file
    h.commit("--allow-empty", "-m", "initial commit")
    h.write("something.txt", b"")
    h.commit("-m", "second commit")
    yield "new branch", h.push("main")

    h.write("café.txt", b"a\nb\nc\n")
    h.write("new\nline", b"x\n")
    h.write('quote"back\\slash\ttab.txt', b"q\n")
    h.write("a space.txt", b"s\n")
    h.commit("-m", "unicode names", "-m", "body line")
    h.git("mv", "café.txt", "renamed.txt")
    h.write("renamed.txt", b"a\nb\nc\nd\n")
    h.commit("-m", "rename")
    h.write("bin.dat", b"\x00\x01\x02bin")
    h.commit("-m", "binary")
    h.write("bin.dat", b"\x00\x01\x03bin2")
    h.commit("-m", "binary change")
    h.git("rm", "-q", "something.txt", "new\nline")
    h.commit("-m", "deletion")
    (h.work / "a space.txt").chmod(0o755)
    h.write("a space.txt", b"s\n")
    h.commit("-m", "mode only")
    h.write("nonl.txt", b"no newline")
    h.commit("-m", "no newline at the end")
    h.commit("--allow-empty", "-m", "empty commit")
    h.write("latin.txt", "é\n".encode("latin-1"))
    latin1 = os.fsdecode("café in ISO-8859-1".encode("latin-1"))
    h.commit("-m", latin1, verb=("-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q"))
    yield "update", h.push("main")

    h.git("checkout", "-q", "-b", "side")
    h.write("side.txt", b"1\n2\n")
    h.commit("-m", "side")
    h.git("checkout", "-q", "main")
    h.write("main.txt", b"z\n")
    h.commit("-m", "mainline")
    h.commit("--no-ff", "side", "-m", "Merge branch 'side'", verb=("merge", "-q"))
    h.git("checkout", "-q", "-b", "c1")
    h.write("conf.txt", b"one\ntwo\nthree\n")
    h.commit("-m", "c1")
    h.git("checkout", "-q", "main")
    h.write("conf.txt", b"one\nTWO\nthree\n")
    h.commit("-m", "c2")
    with contextlib.suppress(subprocess.CalledProcessError):
        h.git("merge", "-q", "c1", "-m", "unused")
    h.write("conf.txt", b"one\nBOTH\nthree\nfour\n")
    h.commit("-m", "Merge branch 'c1' with a resolution")
    yield "merges", h.push("main", "main:f43")

    h.write("shared.txt", b"fix\n")
    h.commit("-m", "shared fix")
    yield "two branches", h.push("main", "main:f43")

    h.git("reset", "-q", "--hard", "HEAD~1")
    h.write("other.txt", b"replacement\n")
    h.commit("-m", "replacement")
    yield "force push", h.push("main")

    h.git("tag", "-a", "-m", "v1", "v1")
    yield "tag and deletion", h.push("v1", ":f43")
