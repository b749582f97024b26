"""The git wedge: real pushes into a bare repository with the post-receive hook installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.wedge_lab import bind_queue, drain, relay_all, spooled

pytestmark = pytest.mark.integration
FEDBUS = Path(sys.executable).with_name("fedbus")


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def repos(tmp_path: Path) -> tuple[Path, Path, Path]:
    spool = tmp_path / "spool"
    bare = tmp_path / "srv" / "rpms" / "python-fedbus.git"
    bare.parent.mkdir(parents=True)
    git(tmp_path, "init", "-q", "--bare", "-b", "rawhide", str(bare))
    git(bare, "config", "fedbus.url", "https://src.example.org/{namespace}/{repo}/c/{rev}")
    hook = bare / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\nexec {FEDBUS}-wedge --spool {spool} git-post-receive\n")
    hook.chmod(0o755)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "config", "user.name", "Alice Example")
    git(work, "config", "user.email", "alice@example.org")
    git(work, "checkout", "-q", "-b", "rawhide")
    return bare, work, spool


def commit(work: Path, files: dict[str, str], summary: str, body: str = "") -> str:
    for name, text in files.items():
        (work / name).write_text(text)
    git(work, "add", *files)
    git(work, "commit", "-q", "-m", summary, *(["-m", body] if body else []))
    return git(work, "rev-parse", "HEAD").stdout.strip()


def push(work: Path, *refspecs: str) -> str:
    out = git(work, "push", "-q", "origin", *refspecs, env={"FEDBUS_GIT_USER": "alice"})
    return out.stderr


def test_one_message_per_new_commit_with_stats(broker, vhost, repos):
    _bare, work, spool = repos
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    first = commit(work, {"python-fedbus.spec": "Name: python-fedbus\n"}, "Initial import")
    second = commit(work, {"python-fedbus.spec": "Name: python-fedbus\nVersion: 0.1\n",
                           "sources": "a\nb\nc\n"}, "Update to 0.1", "Fixes rhbz#1\n")
    err = push(work, "rawhide")
    assert "2 commit message(s) queued" in err
    relay_all(spool, url)
    got = drain(url, queue, 2)
    assert [a.topic for a in got] == ["org.fedoraproject.local.git.receive"] * 2
    assert {a.schema for a in got} == {"fedora_messaging_git_hook.commit.v1"}
    assert [a.body["commit"]["rev"] for a in got] == [first, second]
    c = got[1].body["commit"]
    assert (c["repo"], c["namespace"], c["branch"]) == ("python-fedbus", "rpms", "rawhide")
    assert (c["name"], c["email"], c["username"]) == ("Alice Example", "alice@example.org",
                                                      "alice")
    assert c["summary"] == "Update to 0.1" and c["message"] == "Update to 0.1\n\nFixes rhbz#1\n"
    assert c["seen"] is False and c["path"].endswith("/rpms/python-fedbus.git/")
    assert c["stats"]["files"] == {
        "python-fedbus.spec": {"additions": 1, "deletions": 0, "lines": 1},
        "sources": {"additions": 3, "deletions": 0, "lines": 3},
    }
    assert c["stats"]["total"] == {"additions": 4, "deletions": 0, "lines": 4, "files": 2}
    assert c["url"] == f"https://src.example.org/rpms/python-fedbus/c/{second}"
    assert "+Version: 0.1" in c["patch"]
    assert got[1].body["agent"] == "alice"
    assert got[1].headers["fedora_messaging_user_alice"] is True
    assert got[1].headers["fedora_messaging_rpm_python-fedbus"] is True
    assert got[1].message.summary == 'alice pushed to rpms/python-fedbus (rawhide). "Update to 0.1"'


def test_a_commit_on_two_branches_is_seen_the_second_time(broker, vhost, repos):
    _bare, work, spool = repos
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    base = commit(work, {"a": "1\n"}, "base")
    push(work, "rawhide")
    # a new branch at an existing commit: nothing new
    assert "0 commit message(s)" in push(work, "rawhide:f43")
    # one new commit pushed to two branches at once: one message per branch, the second
    # with seen: true (fedora-messaging-git-hook's "seen")
    shared = commit(work, {"a": "1\n2\n"}, "shared fix")
    assert "2 commit message(s)" in push(work, "rawhide", "rawhide:f43")
    # a branch deletion publishes nothing
    assert "0 commit message(s)" in push(work, ":f43")
    relay_all(spool, url)
    got = drain(url, queue, 3)
    assert [a.body["commit"]["rev"] for a in got] == [base, shared, shared]
    assert [a.body["commit"]["seen"] for a in got] == [False, False, True]
    assert {a.body["commit"]["branch"] for a in got[1:]} == {"rawhide", "f43"}


def test_real_file_names_and_no_rename_detection(broker, vhost, repos):
    _bare, work, spool = repos
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    commit(work, {"café.txt": "a\nb\n", "new\nline": "x\n"}, "names")
    git(work, "mv", "café.txt", "thé.txt")
    git(work, "commit", "-q", "-m", "rename")
    push(work, "rawhide")
    relay_all(spool, url)
    first, second = (a.body["commit"] for a in drain(url, queue, 2))
    assert set(first["stats"]["files"]) == {"café.txt", "new\nline"}
    assert second["stats"]["files"] == {
        "café.txt": {"additions": 0, "deletions": 2, "lines": 2},
        "thé.txt": {"additions": 2, "deletions": 0, "lines": 2},
    }


def test_broker_down_the_push_still_succeeds_and_nothing_is_lost(broker, vhost, repos):
    _bare, work, spool = repos
    commit(work, {"a": "1\n"}, "while the broker is away")
    push(work, "rawhide")  # no relay, no broker connection at all: the hook only spools
    assert spooled(spool) == 1
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    relay_all(spool, url)
    assert drain(url, queue, 1)[0].body["commit"]["summary"] == "while the broker is away"


def test_bad_stdin_is_one_line_and_nonzero(tmp_path, repos):
    bare, _, spool = repos
    run = subprocess.run([str(FEDBUS), "wedge", "--spool", str(spool), "git-post-receive",
                          "--git-dir", str(bare)], input="not a ref line\n",
                         capture_output=True, text=True)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad hook input: stdin line 1" in lines[0]


def test_unwritable_spool_never_fails_the_push(tmp_path, repos):
    _bare, work, spool = repos
    spool.parent.mkdir(exist_ok=True)
    spool.write_text("a file where the spool directory should be")
    commit(work, {"a": "1\n"}, "spool is broken")
    err = push(work, "rawhide")  # git push succeeds (check=True)
    assert "cannot spool org.fedoraproject.local.git.receive" in err
