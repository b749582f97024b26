"""The git ``post-receive`` hook: one ``git.receive`` message per new commit.

Git runs ``hooks/post-receive`` in the bare repository after the refs are updated, with one
``<old> <new> <ref>`` line per updated ref on stdin.  For each updated branch the new commits
are ``new`` minus everything the repository already had: the other refs, and the old values
of the updated ones.  A commit that lands on several branches in one push is published once
(for the first branch that brought it).  Deleted branches and tags publish nothing.

Per repository settings (``git config``): ``fedbus.namespace`` (default: the name of the
repository's parent directory), ``fedbus.repo`` (default: the directory name without
``.git``), ``fedbus.url`` (a template over ``{namespace} {repo} {rev} {branch}`` and
nothing else, default none), ``fedbus.maxpatch`` (bytes of patch kept, digits, default
100000).  A bad setting is one "bad hook input" line and nothing spooled.

Body: :class:`fedora_messaging_git_hook_messages.commit.CommitV1` (``{agent, commit}``).
"""

from __future__ import annotations

import logging
import os
import pwd
import string
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedora_messaging_git_hook_messages.commit import CommitV1

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded
from fedbus.wedges.base import Sink, build

log = logging.getLogger("fedbus.wedges.git")
ZERO = "0" * 40
SEP = "\0"  # git show's %x00: no commit field holds a NUL
URL_FIELDS = ("namespace", "repo", "rev", "branch")


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


class Repo:
    def __init__(self, git_dir: str | os.PathLike[str]) -> None:
        self.git_dir = Path(git_dir).resolve()

    def git(self, *args: str, stdin: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_QUARANTINE")}
        env["GIT_DIR"] = str(self.git_dir)
        out = subprocess.run(
            ["git", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=True,
            errors="replace",
        )
        return out.stdout

    def config(self, key: str, default: str | None = None) -> str | None:
        try:
            return self.git("config", "--get", key).strip() or default
        except subprocess.CalledProcessError:
            return default

    def new_commits(self, updates: list[RefUpdate]) -> Iterator[tuple[str, str]]:
        """``(branch, sha)`` of each commit this push brought, oldest first, once each."""
        updated = {u.ref for u in updates}
        keep = [
            r for r in self.git("for-each-ref", "--format=%(objectname) %(refname)").splitlines()
        ]
        exclude = [line.split()[0] for line in keep if line.split()[1] not in updated]
        exclude += [u.old for u in updates if u.old != ZERO]
        seen: set[str] = set()
        for u in updates:
            if not u.ref.startswith("refs/heads/") or u.new == ZERO:
                continue
            branch = u.ref.removeprefix("refs/heads/")
            revs = self.git(
                "rev-list", "--reverse", "--stdin", u.new, stdin="".join(f"^{x}\n" for x in exclude)
            ).split()
            for sha in revs:
                if sha not in seen:
                    seen.add(sha)
                    yield branch, sha

    def commit(self, sha: str, max_patch: int) -> dict[str, Any]:
        fmt = "%x00".join(("%an", "%ae", "%aI", "%s", "%B"))
        head = self.git("show", "-s", f"--format={fmt}", sha).split(SEP)
        name, email, date, summary, message = (head + [""] * 5)[:5]
        files: dict[str, dict[str, int]] = {}
        for line in self.git("show", "--numstat", "--format=", "-M", sha).splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3:
                continue
            add, dele = (int(x) if x.isdigit() else 0 for x in parts[:2])  # '-': binary
            files[parts[2]] = {"additions": add, "deletions": dele, "lines": add + dele}
        total = {
            "additions": sum(f["additions"] for f in files.values()),
            "deletions": sum(f["deletions"] for f in files.values()),
            "lines": sum(f["lines"] for f in files.values()),
            "files": len(files),
        }
        patch = self.git("show", "--format=", "--patch", sha)
        if len(patch) > max_patch:
            patch = patch[:max_patch] + "\n[patch truncated]\n"
        return {
            "name": name,
            "email": email,
            "date": date,
            "summary": summary,
            "message": message.rstrip("\n"),
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
    for branch, sha in repo.new_commits(updates):
        commit = repo.commit(sha, max_patch)
        fields = {"namespace": namespace, "repo": repo_name, "rev": sha, "branch": branch}
        commit.update(
            {
                "username": agent,
                "path": str(repo.git_dir),
                "repo": repo_name,
                "namespace": namespace,
                "branch": branch,
                "url": url_template.format(**fields) if url_template else None,
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
            " ".join((exc.stderr or "").split())[:200],
        )
        return 1, 0
    except Exception as exc:  # never break a push
        log.error("fedbus: git hook failed: %s", one_line(exc))
        return 1, 0
    done = publish_all(target, built)
    log.info("fedbus: %d commit message(s) queued for the bus", done)
    return (0 if done == len(built) else 1), done
