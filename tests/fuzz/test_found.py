"""What the fuzzers found, one test per input (each failed before its fix)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fuzzlib import logged, snapshot

from fedbus.errors import ValidationError
from fedbus.mirror import paths, rsync
from fedbus.wedges import pungi, zabbix
from fedbus.wedges.base import Sink

DEEP = "[" * 100_000  # json.loads: RecursionError, not ValueError


def target(tmp_path: Path) -> Sink:
    return Sink(spool_dir=tmp_path / "spool")


@pytest.mark.parametrize(
    "stdin", [DEEP, '{"status": "STARTED", "x": ' + "[" * 5000 + "]" * 5000 + "}"]
)
def test_pungi_deeply_nested_json_is_a_bad_notification(tmp_path, stdin):
    t = target(tmp_path)
    with pytest.raises(ValidationError, match="stdin is not JSON"):
        pungi.message(t, "status-change", stdin)
    with logged() as lines:
        assert pungi.notify(["status-change"], stdin, t) == 1
    assert lines == [lines[0]] and "bad notification" in lines[0], lines
    assert snapshot(t.spool_dir) == (False, (), 0)


def test_pungi_nan_is_refused_by_the_parser(tmp_path):
    with pytest.raises(ValidationError, match="stdin is not JSON"):
        pungi.message(
            target(tmp_path),
            "status-change",
            '{"status": "STARTED", "compose_id": "x", "extra": NaN}',
        )


ALERT = ["event_id=1", "host=h", "trigger=t", "severity=High", "event_value=1"]


@pytest.mark.parametrize("tags", [DEEP, "[" + "[" * 3000 + "]" * 3000 + "]", "[NaN]"])
def test_zabbix_bad_tags_json_is_a_bad_alert(tmp_path, tags):
    t = target(tmp_path)
    with pytest.raises(ValidationError, match="tags is not JSON"):
        zabbix.message(t, [*ALERT, f"tags={tags}"])
    with logged() as lines:
        assert zabbix.alert([*ALERT, f"tags={tags}"], t) == 1
    assert len(lines) == 1 and "bad Zabbix alert" in lines[0], lines
    assert snapshot(t.spool_dir) == (False, (), 0)


@pytest.mark.parametrize("hint", ["\ud800", "pub/\udcff/x"])
def test_a_path_hint_rsync_cannot_write_is_refused(hint):
    # Before: accepted, then rsync.command raised UnicodeEncodeError in the agent.
    with pytest.raises(ValidationError, match="not UTF-8"):
        paths.from_body([hint])


def test_many_path_hints_cost_linear_time():
    # Before: 20,000 disjoint hints took 45 s (each compared with every kept one).
    hints = [f"pub/d{i}" for i in range(50_000)]
    start = time.monotonic()
    assert paths.from_body(hints) is None  # more than MAX_PATHS: the whole tree
    assert paths.collapse(hints, limit=100_000) == frozenset(hints)
    assert time.monotonic() - start < 5


def test_collapsed_hints_still_feed_rsync():
    got = paths.from_body(["pub/a", "pub/a/b", "pub//c/./", "pub/c/d"])
    assert got == frozenset({"pub/a", "pub/c"})
    assert rsync.command("rsync://h/m", "/d", got)[1] == b"pub/a\0pub/c\0"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("fedbus.url", "{nope}", "the fields are"),  # before: KeyError: 'nope'
        ("fedbus.url", "{0}", "the fields are"),  # before: IndexError: Replacement index 0 ...
        ("fedbus.url", "{rev.__class__}", "the fields are"),  # before: "<class 'str'>" published
        ("fedbus.url", "{rev", "fedbus.url"),  # before: ValueError: expected '}' before end
        ("fedbus.maxpatch", "abc", "expected a number"),  # before: ValueError: invalid literal
        ("fedbus.maxpatch", "-5", "expected a number"),  # before: the patch cut 5 bytes short
    ],
)
def test_git_hook_settings_are_checked(tmp_path, key, value, reason):
    import subprocess

    from fedbus.wedges import git_hook

    env = {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin",
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.org",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@example.org",
    }
    repo = tmp_path / "rpms" / "x.git"

    def git(*args: str, stdin: bytes | None = None) -> str:
        return (
            subprocess.run(
                ["git", "--git-dir", str(repo), *args],
                input=stdin,
                check=True,
                capture_output=True,
                env=env,
            )
            .stdout.decode()
            .strip()
        )

    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True, env=env)
    blob = git("hash-object", "-w", "--stdin", stdin=b"x\n")
    tree = git("mktree", stdin=f"100644 blob {blob}\tREADME\n".encode())
    sha = git("commit-tree", tree, "-m", "summary \x1f with a unit separator")
    git("config", key, value)
    t = target(tmp_path)
    with logged() as lines:
        code, done = git_hook.post_receive(f"{git_hook.ZERO} {sha} refs/heads/main\n", str(repo), t)
    assert (code, done) == (1, 0)
    assert len(lines) == 1 and "bad hook input" in lines[0] and reason in lines[0], lines
    assert snapshot(t.spool_dir) == (False, (), 0)
    git("config", "--unset", key)
    assert git_hook.Repo(repo).commit(sha, 100)["summary"] == "summary \x1f with a unit separator"


def test_zabbix_date_error_is_one_line(tmp_path):
    # Before: "date/time 2026.11.30\n 03:00:00: expected ..." (the value's line break kept)
    with pytest.raises(ValidationError) as exc:
        zabbix.message(target(tmp_path), [*ALERT, "date=2026.11.30\nx", "time=03:00:00"])
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "rec",
    [
        {"uuid": "u9", "source": "sa", "transfer": {"state": "transferring"}},  # AttributeError
        {"uuid": "u9", "transfer": "transferring"},  # before: AttributeError in in_sync
        {"uuid": "u9", "destination": ["x"], "healthy": False},
        {"uuid": "u9", "transfer": {"state": [{}]}},  # before: TypeError: unhashable type: 'list'
    ],
)
def test_netapp_odd_records_neither_crash_nor_spool(tmp_path, rec):
    from fedbus.wedges import netapp

    w = netapp.Watcher("http://filer.invalid", "filer", target(tmp_path))
    now_in = w.in_sync(rec)
    enc = w.message(rec, now_in, "2026-12-07T07:00:00+00:00")
    assert enc.routing_key.startswith("org.fedoraproject.local.netapp.snapmirror.")
