"""The git post-receive hook: fuzzed stdin lines and commit data, on a real bare repository.

Property: :func:`git_hook.parse_updates` returns updates or raises ValidationError;
:func:`git_hook.post_receive` exits 0 with one message per new commit spooled, or 1 with
one log line and nothing spooled; never the catch-all "git hook failed" (a crash).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from fuzzlib import assert_one_line_each, examples, logged, snapshot
from hypothesis import given
from hypothesis import strategies as st

from fedbus.errors import ValidationError
from fedbus.wedges import git_hook
from fedbus.wedges.base import Sink

ENV = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):
    return (
        subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            input=stdin,
            check=True,
            capture_output=True,
            env={**ENV, **(env or {})},
        )
        .stdout.decode()
        .strip()
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("git") / "rpms" / "python-fedbus.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True, env=ENV)
    blob = git(path, "hash-object", "-w", "--stdin", stdin=b"hello\n")
    tree = git(path, "mktree", stdin=f"100644 blob {blob}\tREADME\n".encode())
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.org",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@example.org",
    }
    root = git(path, "commit-tree", tree, "-m", "root", env=env)
    git(path, "update-ref", "refs/heads/main", root)
    return path, root


shas = st.sampled_from([git_hook.ZERO, "f" * 40, "a" * 64]) | st.text(
    "0123456789abcdef", min_size=40, max_size=40
)
refs = st.sampled_from(
    ["refs/heads/main", "refs/heads/f43", "refs/tags/v1", "HEAD", "refs/heads/-x"]
) | st.text(max_size=20)
lines = st.tuples(shas, shas, refs).map(" ".join) | st.text(max_size=60)
stdins = st.lists(lines, max_size=4).map("\n".join)


@examples(300)
@given(stdins)
def test_parse_updates_is_updates_or_a_validation_error(text: str) -> None:
    try:
        for u in git_hook.parse_updates(text):
            assert git_hook._is_sha(u.old) and git_hook._is_sha(u.new) and u.ref
    except ValidationError as exc:
        assert "\n" not in str(exc)


names = st.text(
    st.characters(blacklist_characters="\0\n<>", blacklist_categories=["Cs"]), max_size=20
)
messages = st.text(
    st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), max_size=80
)
files = st.text(
    st.characters(blacklist_characters="\0/\n\t", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=20,
).filter(lambda n: n not in (".", "..", ".git"))


@examples(30)
@given(
    names,
    names,
    messages,
    files,
    st.sampled_from(["f43", "a/b", "fuzz"]),  # main holds the root commit
    st.sampled_from([None, "{namespace}/{repo}/c/{rev}", "{nope}", "{0}", "{rev.__class__}"]),
    st.sampled_from([None, "100", "0", "-5", "abc"]),
)
def test_post_receive_spools_each_new_commit_or_nothing(
    repo: tuple[Path, str],
    author: str,
    email: str,
    message: str,
    filename: str,
    branch: str,
    url: str | None,
    maxpatch: str | None,
) -> None:
    path, root = repo
    for key, value in (("fedbus.url", url), ("fedbus.maxpatch", maxpatch)):
        if value is None:
            subprocess.run(["git", "--git-dir", str(path), "config", "--unset", key], env=ENV)
        else:
            git(path, "config", key, value)
    blob = git(path, "hash-object", "-w", "--stdin", stdin=message.encode())
    tree = git(path, "mktree", stdin=f"100644 blob {blob}\t{filename}\n".encode())
    env = {
        "GIT_AUTHOR_NAME": author or "x",
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": "c",
        "GIT_COMMITTER_EMAIL": "c@example.org",
    }
    new = git(path, "commit-tree", tree, "-p", root, stdin=message.encode() or b"x", env=env)
    with tempfile.TemporaryDirectory() as tmp:
        target = Sink(spool_dir=Path(tmp) / "spool")
        with logged() as lines:
            code, done = git_hook.post_receive(
                f"{git_hook.ZERO} {new} refs/heads/{branch}\n", str(path), target
            )
        assert_one_line_each(lines)
        assert not any("git hook failed" in line for line in lines), lines
        after = snapshot(target.spool_dir)
        if code == 0:
            assert done == 1 and after[2] == 1
        else:
            assert done == 0 and after == (False, (), 0) and len(lines) == 1, lines
