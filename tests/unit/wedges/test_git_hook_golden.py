"""The git hook's bodies against fedora-messaging-git-hook's, commit by commit.

``git_history.stages`` pushes real commits (unicode, newline, quote and space in names, a
rename, binary files, a deletion, a mode change, no final newline, empty commits, an
ISO-8859-1 message, merges with and without a resolution, one commit on two branches, a
force push, a tag, a branch deletion) into a bare repository; the hook's bodies for each
push are compared with ``data/git_upstream_bodies.json``: what upstream's algorithm gives
for the same commits.  The literal values of upstream's own ``tests/test_hook.py``
(``test_basic``, ``test_bare``, ``test_namespace``) are checked as written there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fedora_messaging_git_hook_messages.commit import CommitV1
from git_history import stages

from fedbus.wedges.base import Sink
from fedbus.wedges.git_hook import Repo, messages, parse_updates

UPSTREAM = json.loads((Path(__file__).parent / "data" / "git_upstream_bodies.json").read_text())
URL = "http://example.com/{repo_fullname}/c/{rev}?branch={branch}"  # upstream's test_basic


@pytest.fixture(scope="module")
def pushes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each stage's bodies, the hook run right after its push, as the post-receive does."""
    root = tmp_path_factory.mktemp("git")
    mp = pytest.MonkeyPatch()
    mp.setenv("FEDBUS_GIT_USER", "dummyuser")
    got: dict[str, Any] = {"stdin": {}, "bodies": {}}
    try:
        for stage, stdin in stages(root):
            repo = Repo(root / "srv" / "rpms" / "python-fedbus.git")
            if stage == "new branch":
                repo.git("config", "fedbus.url", URL)
            encoded = list(messages(Sink(), repo, parse_updates(stdin)))
            got["stdin"][stage] = stdin
            got["bodies"][stage] = [json.loads(e.body) for e in encoded]
        got["path"] = f"{repo.git_dir}/"
    finally:
        mp.undo()
    return got


def upstream_body(ref: str, summary: str, seen: bool, path: str) -> dict[str, Any]:
    """The body upstream publishes: its commit fields plus the repository's."""
    commit = dict(UPSTREAM["commits"][summary])
    branch = ref.split("/", 2)[2]
    commit.update(username="dummyuser", path=path, repo="python-fedbus", namespace="rpms",
                  branch=branch, seen=seen)
    commit["url"] = URL.format(repo_fullname="rpms/python-fedbus", **commit)
    return {"agent": "dummyuser", "commit": commit}


def expected(stage: str, path: str) -> list[dict[str, Any]]:
    """Upstream's messages for ``stage`` less the two documented differences: a tag
    publishes nothing, a new branch only the commits no ref had before the push."""
    before = set(UPSTREAM["reachable_before"][stage])
    out = []
    for ref, summary, seen, created in UPSTREAM["published"][stage]:
        rev = UPSTREAM["commits"][summary]["rev"]
        if not ref.startswith("refs/heads/") or (created and rev in before):
            continue
        out.append(upstream_body(ref, summary, seen, path))
    return out


@pytest.mark.parametrize("stage", list(UPSTREAM["published"]))
def test_bodies_are_upstreams(pushes, stage):
    ours = pushes["bodies"][stage]
    want = expected(stage, pushes["path"])
    assert [b["commit"]["summary"] for b in ours] == [b["commit"]["summary"] for b in want]
    for mine, theirs in zip(ours, want, strict=True):
        assert mine == theirs, theirs["commit"]["summary"]


@pytest.mark.parametrize("stage", list(UPSTREAM["published"]))
def test_schema_class_reads_ours_as_upstreams(pushes, stage):
    for mine, theirs in zip(pushes["bodies"][stage], expected(stage, pushes["path"]),
                            strict=True):
        ours_msg, their_msg = CommitV1(body=mine), CommitV1(body=theirs)
        ours_msg.validate()
        for attr in ("summary", "url", "usernames", "packages", "agent_name", "app_name"):
            assert getattr(ours_msg, attr) == getattr(their_msg, attr), attr
        assert str(ours_msg) == str(their_msg)


def test_upstreams_literal_values(pushes):
    """tests/test_hook.py of fedora-messaging-git-hook: test_basic, test_bare,
    test_namespace (with_namespace) — transcribed values."""
    first, second = (b["commit"] for b in pushes["bodies"]["new branch"])
    assert [first["summary"], second["summary"]] == ["initial commit", "second commit"]
    assert second["stats"] == {
        "files": {"something.txt": {"additions": 0, "deletions": 0, "lines": 0}},
        "total": {"additions": 0, "deletions": 0, "files": 1, "lines": 0},
    }
    assert second["patch"] == (
        "diff --git a/something.txt b/something.txt\n"
        "new file mode 100644\n"
        "index 0000000..e69de29\n"
        "--- /dev/null\n"
        "+++ b/something.txt\n"
    )
    assert first["stats"] == {"files": {}, "total": {}}  # an empty root commit
    assert first["patch"] == ""
    for c in (first, second):
        assert c["path"].endswith("/python-fedbus.git/")
        assert (c["repo"], c["namespace"], c["branch"]) == ("python-fedbus", "rpms", "main")
        assert (c["username"], c["email"]) == ("dummyuser", "zoe@example.org")
        assert c["url"] == f"http://example.com/rpms/python-fedbus/c/{c['rev']}?branch=main"


def test_the_cases_come_out_as_named(pushes):
    """The probe's findings, stated directly."""
    commits = {b["commit"]["summary"]: b["commit"] for s in pushes["bodies"].values() for b in s}
    names = commits["unicode names"]["stats"]["files"]
    assert set(names) == {"café.txt", "new\nline", 'quote"back\\slash\ttab.txt', "a space.txt"}
    assert set(commits["rename"]["stats"]["files"]) == {"café.txt", "renamed.txt"}
    assert commits["rename"]["stats"]["files"]["café.txt"]["deletions"] == 3
    merge = commits["Merge branch 'side'"]
    assert merge["patch"].count("diff --git") == 2  # against each parent: side.txt, main.txt
    assert commits["binary"]["stats"]["files"]["bin.dat"] == {
        "additions": 0, "deletions": 0, "lines": 0}
    assert "Binary files /dev/null and b/bin.dat differ" in commits["binary"]["patch"]
    assert commits["empty commit"]["stats"] == {"files": {}, "total": {}}
    assert commits["unicode names"]["message"] == "unicode names\n\nbody line\n"
    dates = [c["date"] for c in commits.values()]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", d) for d in dates)
    assert {d[-6:] for d in dates} == {"+05:30", "-07:00", "+00:00", "+01:00"}  # committer's


def test_hand_made_commits_and_bad_objects_never_break_the_hook(tmp_path, caplog):
    """A commit git accepts as written (an offset of +99:59, a time past year 9999) gives
    a body; a ref to an object the repository lacks is one log line and exit 1."""
    import subprocess

    from fedbus.wedges.git_hook import ZERO, post_receive

    bare = tmp_path / "x.git"
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}

    def git(*args: str, stdin: bytes | None = None) -> str:
        return subprocess.run(["git", "--git-dir", str(bare), *args], input=stdin, env=env,
                              check=True, capture_output=True).stdout.decode().strip()

    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, env=env)
    tree = git("mktree", stdin=b"")
    raw = (f"tree {tree}\nauthor A <a@example.org> 1796000000 +9959\n"
           f"committer C <c@example.org> 99999999999999999 -0130\n\nodd\n").encode()
    sha = git("hash-object", "-t", "commit", "-w", "--literally", "--stdin", stdin=raw)
    body = Repo(bare).commit(sha, 100)
    assert body["date"] == "1969-12-31T22:30:00-01:30" and body["message"] == "odd\n"
    assert body["stats"] == {"files": {}, "total": {}} and body["patch"] == ""
    target = Sink(spool_dir=tmp_path / "spool")
    assert post_receive(f"{ZERO} {sha} refs/heads/main\n", str(bare), target) == (0, 1)
    caplog.clear()
    assert post_receive(f"{ZERO} {'a' * 40} refs/heads/main\n", str(bare), target) == (1, 0)
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "git rev-list --stdin failed: fatal: bad object" in line
