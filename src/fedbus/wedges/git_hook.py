"""The git ``post-receive`` hook: one ``git.receive`` message per new commit.

Git runs ``hooks/post-receive`` in the bare repository after the refs are updated, with one
``<old> <new> <ref>`` line per updated ref on stdin.  The body is the one
fedora-messaging-git-hook (Fedora's hook, pygit2) publishes for the same commit:

- commits: an updated branch publishes ``git rev-list <new>...<old>`` (the symmetric
  difference), oldest first; a new branch publishes the commits no other ref had before
  the push.  A commit already published for an earlier ref line of the same push is
  published again with ``seen: true`` (``false`` the first time).  Deleted branches and
  tags publish nothing.
- ``stats`` and ``patch``: a tree diff against each parent (a root commit against the
  empty tree), no rename detection; ``stats.files`` keyed by the real path (no C quoting),
  summed over the parents; a commit without changes has ``{"files": {}, "total": {}}``.
  ``patch`` is the per-file patches of all parents joined by a newline, in libgit2's format
  (``index`` hashes of 7 digits, ``---``/``+++`` lines even for a file without hunks).
- ``message`` the raw commit message, ``summary`` its first line, ``date`` the committer
  date in ISO 8601 with the committer's offset, ``name``/``email`` the author's, ``path``
  the repository's directory with a trailing ``/``.

Per repository settings (``git config``): ``fedbus.namespace`` (default: the name of the
repository's parent directory), ``fedbus.repo`` (default: the directory name without
``.git``), ``fedbus.url`` (a template over ``{namespace} {repo} {repo_fullname} {rev}
{branch}`` and nothing else, default none), ``fedbus.maxpatch`` (bytes of patch kept,
digits, default 100000).  A bad setting is one "bad hook input" line and nothing spooled.

Body: :class:`fedora_messaging_git_hook_messages.commit.CommitV1` (``{agent, commit}``).
"""

from __future__ import annotations

import codecs
import logging
import os
import pwd
import string
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fedora_messaging_git_hook_messages.commit import CommitV1

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded
from fedbus.wedges.base import Sink, build

log = logging.getLogger("fedbus.wedges.git")
ZERO = "0" * 40
URL_FIELDS = ("namespace", "repo", "repo_fullname", "rev", "branch")
ABBREV = 7  # libgit2's abbreviation of the blob ids on a patch's "index" line
# git diff-tree as libgit2 diffs two trees: no renames, no indent heuristic (git's default,
# not libgit2's), no external diff or textconv, no colour.
DIFF_OPTS = ("-r", "--no-renames", "--no-indent-heuristic", "--no-ext-diff", "--no-textconv",
             "--no-color", "--ignore-submodules=none")


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def parse_updates(text: str) -> list[RefUpdate]:
    """The ``old new ref`` lines of post-receive's stdin; ValidationError on a bad line."""
    updates = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(_is_sha(p) for p in parts[:2]):
            raise ValidationError(
                f"stdin line {n}: expected '<old-sha> <new-sha> <ref>', got {line[:80]!r}"
            )
        updates.append(RefUpdate(*parts))
    return updates


def _is_sha(s: str) -> bool:
    return len(s) in (40, 64) and all(c in "0123456789abcdef" for c in s)


@dataclass(frozen=True)
class Signature:
    name: bytes
    email: bytes
    time: int
    offset: int  # minutes east of UTC


def _signature(value: bytes) -> Signature:
    """``Name <email> <time> <+hhmm>`` of an author/committer header, as libgit2 reads it."""
    ident, _, rest = value.rpartition(b">")
    name, _, email = ident.partition(b"<")
    fields = rest.split()
    time = int(fields[0]) if fields and fields[0].isdigit() else 0
    tz = fields[1] if len(fields) > 1 else b"+0000"
    offset = 0
    if len(tz) == 5 and tz[1:].isdigit():
        offset = (int(tz[1:3]) * 60 + int(tz[3:5])) * (-1 if tz[:1] == b"-" else 1)
    return Signature(name.strip(), email.strip(), time, offset)


def _iso_date(sig: Signature) -> str:
    """The time as pygit2's ``datetime.fromtimestamp(time, timezone(offset)).isoformat()``;
    an offset or time Python cannot represent (a hand-made commit) is taken as UTC, epoch."""
    try:
        tz = timezone(timedelta(minutes=sig.offset))
    except ValueError:
        tz = UTC
    try:
        return datetime.fromtimestamp(sig.time, tz).isoformat()
    except (OverflowError, OSError, ValueError):
        return datetime.fromtimestamp(0, tz).isoformat()


def _decoder(encoding: bytes | None) -> str:
    if encoding:
        try:
            return codecs.lookup(encoding.decode("ascii", "replace")).name
        except LookupError:
            pass
    return "utf-8"


def split_patch(text: str) -> list[str]:
    """``git diff`` output cut into one text per file (each starts with ``diff --git``)."""
    chunks: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("diff --git ") or not chunks:
            chunks.append(line)
        else:
            chunks[-1] += line
    return chunks


def libgit2_patch(chunk: str) -> str:
    """One file's patch as libgit2 prints it: git ends the ``---``/``+++`` lines of a path
    with a space with a tab, libgit2 does not; git leaves those lines out for a file without
    hunks (an empty file added or deleted), libgit2 writes them."""
    lines = chunk.splitlines(keepends=True)
    for n, line in enumerate(lines):
        if line.startswith("@@"):
            break
        if line.startswith(("--- ", "+++ ")) and line.endswith("\t\n"):
            lines[n] = line[:-2] + "\n"
    chunk = "".join(lines)
    if any(line.startswith(("--- ", "Binary files ", "GIT binary patch")) for line in lines):
        return chunk
    if not any(line.startswith("index ") for line in lines):
        return chunk  # a mode change only: libgit2 prints the modes and nothing more
    paths = lines[0].removeprefix("diff --git ").rstrip("\n")
    half = (len(paths) - 1) // 2  # no renames: "a/<p> b/<p>", both quoted or neither
    old, new = paths[:half], paths[half + 1:]
    if any(line.startswith("new file mode ") for line in lines):
        old = "/dev/null"
    if any(line.startswith("deleted file mode ") for line in lines):
        new = "/dev/null"
    return chunk + f"--- {old}\n+++ {new}\n"


class Repo:
    def __init__(self, git_dir: str | os.PathLike[str]) -> None:
        self.git_dir = Path(git_dir).resolve()

    def run(self, *args: str, stdin: str | None = None) -> bytes:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_QUARANTINE")}
        env["GIT_DIR"] = str(self.git_dir)
        out = subprocess.run(
            ["git", *args],
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            env=env,
            check=True,
        )
        return out.stdout

    def git(self, *args: str, stdin: str | None = None) -> str:
        return self.run(*args, stdin=stdin).decode("utf-8", "replace")

    def config(self, key: str, default: str | None = None) -> str | None:
        try:
            return self.git("config", "--get", key).strip() or default
        except subprocess.CalledProcessError:
            return default

    def _exists(self, sha: str) -> bool:
        try:
            self.run("cat-file", "-e", f"{sha}^{{commit}}")
        except subprocess.CalledProcessError:
            return False
        return True

    def new_commits(self, updates: list[RefUpdate]) -> Iterator[tuple[str, str, bool]]:
        """``(branch, sha, seen)`` of each commit this push brought, ref line by ref line,
        oldest first; ``seen`` when an earlier ref line already brought it."""
        updated = {u.ref for u in updates}
        refs = [
            line.split(" ", 1)
            for line in self.git("for-each-ref", "--format=%(objectname) %(refname)").splitlines()
        ]
        before = [sha for sha, ref in refs if ref not in updated]
        before += [u.old for u in updates if u.old != ZERO]
        seen: set[str] = set()
        for u in updates:
            if not u.ref.startswith("refs/heads/") or u.new == ZERO:
                continue
            branch = u.ref.removeprefix("refs/heads/")
            if u.old != ZERO and self._exists(u.old):
                revs = self.git("rev-list", f"{u.new}...{u.old}").split()
            else:
                revs = self.git(
                    "rev-list", "--stdin", u.new, stdin="".join(f"^{x}\n" for x in before)
                ).split()
            for sha in reversed(revs):
                yield branch, sha, sha in seen
                seen.add(sha)

    def _empty_tree(self) -> str:
        return self.git("hash-object", "-t", "tree", "/dev/null").strip()

    def commit(self, sha: str, max_patch: int) -> dict[str, Any]:
        raw = self.run("cat-file", "commit", sha)
        header, _, message_bytes = raw.partition(b"\n\n")
        parents: list[str] = []
        author = committer = Signature(b"", b"", 0, 0)
        encoding = None
        for line in header.split(b"\n"):
            key, _, value = line.partition(b" ")
            if key == b"parent":
                parents.append(value.decode("ascii"))
            elif key == b"author":
                author = _signature(value)
            elif key == b"committer":
                committer = _signature(value)
            elif key == b"encoding":
                encoding = value
        codec = _decoder(encoding)
        message = message_bytes.decode(codec, "replace")
        files: dict[str, dict[str, int]] = {}
        chunks: list[str] = []
        for parent in parents or [self._empty_tree()]:
            numstat = self.run("-c", "core.quotePath=false", "diff-tree", *DIFF_OPTS, "-z",
                               "--numstat", parent, sha)
            for entry in numstat.split(b"\0"):
                add, _, rest = entry.partition(b"\t")
                dele, _, path_bytes = rest.partition(b"\t")
                if not path_bytes:
                    continue
                path = path_bytes.decode("utf-8", "replace")
                a = int(add) if add.isdigit() else 0  # "-": a binary file
                d = int(dele) if dele.isdigit() else 0
                f = files.setdefault(path, {"additions": 0, "deletions": 0, "lines": 0})
                f["additions"] += a
                f["deletions"] += d
                f["lines"] += a + d
            text = self.git("-c", "core.quotePath=true", "diff-tree", *DIFF_OPTS, "-p",
                            f"--abbrev={ABBREV}", parent, sha)
            chunks += [libgit2_patch(c) for c in split_patch(text)]
        total: dict[str, int] = {}
        for f in files.values():
            for name in ("additions", "deletions", "lines"):
                total[name] = total.get(name, 0) + f[name]
            total["files"] = total.get("files", 0) + 1
        patch = "\n".join(chunks)
        if len(patch) > max_patch:
            patch = patch[:max_patch] + "\n[patch truncated]\n"
        date = _iso_date(committer)
        return {
            "name": author.name.decode(codec, "replace"),
            "email": author.email.decode(codec, "replace"),
            "date": date,
            "summary": message.split("\n")[0],
            "message": message,
            "stats": {"files": files, "total": total},
            "rev": sha,
            "patch": patch,
        }


def pusher() -> str:
    """Who pushed: the forge's variable when set, else the Unix user running the hook."""
    for var in ("GL_USER", "REMOTE_USER", "FEDBUS_GIT_USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _url_template(text: str | None) -> str | None:
    """``fedbus.url``: only ``{namespace} {repo} {rev} {branch}``, no index, attribute,
    conversion or format spec; ValidationError otherwise."""
    if text is None:
        return None
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(f"fedbus.url {text!r}: {exc}") from exc
    for _, name, spec, conversion in fields:
        if name is not None and (name not in URL_FIELDS or spec or conversion):
            raise ValidationError(
                f"fedbus.url {text!r}: the fields are {' '.join('{' + f + '}' for f in URL_FIELDS)}"
            )
    return text


def _max_patch(text: str | None) -> int:
    if text is None:
        return 100_000
    if not text.isdigit():
        raise ValidationError(f"fedbus.maxpatch {text!r}: expected a number of bytes")
    return int(text)


def messages(target: Sink, repo: Repo, updates: list[RefUpdate]) -> Iterable[Encoded]:
    name = repo.git_dir.name.removesuffix(".git")
    repo_name = repo.config("fedbus.repo", name) or name
    namespace = repo.config("fedbus.namespace", repo.git_dir.parent.name)
    url_template = _url_template(repo.config("fedbus.url"))
    max_patch = _max_patch(repo.config("fedbus.maxpatch"))
    agent = pusher()
    full_name = f"{namespace}/{repo_name}" if namespace else repo_name
    for branch, sha, seen in repo.new_commits(updates):
        commit = repo.commit(sha, max_patch)
        fields = {"namespace": namespace, "repo": repo_name, "repo_fullname": full_name,
                  "rev": sha, "branch": branch}
        commit.update(
            {
                "username": agent,
                "path": f"{repo.git_dir}/",
                "repo": repo_name,
                "namespace": namespace,
                "branch": branch,
                "url": url_template.format(**fields) if url_template else None,
                "seen": seen,
            }
        )
        yield build(target, CommitV1, {"agent": agent, "commit": commit})


def post_receive(stdin_text: str, git_dir: str, target: Sink) -> tuple[int, int]:
    """Spool one message per new commit; returns (exit code, messages spooled)."""
    from fedbus.wedges.base import one_line, publish_all

    try:
        updates = parse_updates(stdin_text)
        built = list(messages(target, Repo(git_dir), updates))
    except ValidationError as exc:
        log.error("fedbus: bad hook input: %s", exc)
        return 1, 0
    except subprocess.CalledProcessError as exc:
        log.error(
            "fedbus: git %s failed: %s",
            " ".join(exc.cmd[1:3]),
            " ".join((exc.stderr or b"").decode("utf-8", "replace").split())[:200],
        )
        return 1, 0
    except Exception as exc:  # never break a push
        log.error("fedbus: git hook failed: %s", one_line(exc))
        return 1, 0
    done = publish_all(target, built)
    log.info("fedbus: %d commit message(s) queued for the bus", done)
    return (0 if done == len(built) else 1), done
