"""The rsync command line (run for real on local trees) and the master's tree watch."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fedbus.mirror import rsync
from fedbus.mirror.watch import Watch, changed, scan

pytestmark = pytest.mark.skipif(not shutil.which("rsync"), reason="rsync is not installed")


def tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def listing(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file()}


def pull(src: Path, dst: Path, paths) -> rsync.Stats:
    argv, stdin = rsync.command(str(src), dst, paths)
    done = subprocess.run(argv, input=stdin, capture_output=True, check=True)
    return rsync.parse_stats(done.stdout.decode())


def test_command_shapes() -> None:
    argv, stdin = rsync.command("rsync://h:873/pub", "/srv/pub", frozenset({"b", "a/x"}))
    assert argv[-2:] == ["rsync://h:873/pub/", "/srv/pub/"]
    assert {"--delete", "--delay-updates", "--relative", "--files-from=-", "-r",
            "--delete-missing-args"} <= set(argv)
    assert stdin == b"a/x\0b\0"
    argv, stdin = rsync.command("rsync://h/pub/", "/srv/pub/", None)
    assert stdin is None and "--files-from=-" not in argv and "--delete" in argv


def test_hinted_pull_touches_only_named_paths_and_deletes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    tree(src, {"a/1": "1", "a/x/2": "2", "b/3": "3", "c/4": "4"})
    assert pull(src, dst, None).files == 4
    shutil.rmtree(src / "a/x")
    tree(src, {"a/5": "5", "b/6": "6", "c/4": "changed"})
    st = pull(src, dst, frozenset({"a", "b"}))
    assert st.files == 2 and st.bytes > 0
    got = listing(dst)
    assert "a/x/2" not in got and got["a/5"] == "5" and got["b/6"] == "6"
    assert got["c/4"] == "4"  # not named: left alone until a full pull
    (src / "b/6").unlink()
    shutil.rmtree(src / "b")
    pull(src, dst, frozenset({"b"}))  # a vanished directory is deleted
    assert not (dst / "b").exists()
    pull(src, dst, None)
    assert listing(dst) == listing(src)


def test_parse_stats_and_exit() -> None:
    out = ("Number of deleted files: 2 (reg: 1, dir: 1)\nNumber of regular files transferred:"
           " 1,204\nTotal bytes received: 12,345,678\n")
    assert rsync.parse_stats(out) == rsync.Stats(files=1204, bytes=12345678, deleted=2)
    assert rsync.describe_exit(10, "x\nrsync error: error in socket IO\n") == (
        "rsync exit 10 (error in socket I/O): rsync error: error in socket IO")


def test_scan_and_changed(tmp_path: Path) -> None:
    tree(tmp_path, {"a/1": "1", "a/b/2": "2", "c/3": "3"})
    before = scan(tmp_path)
    assert set(before) == {".", "a", "a/b", "c"}
    assert changed(before, scan(tmp_path)) == set()
    (tmp_path / "a/b/2").write_text("22")
    os.utime(tmp_path / "a/b/2", ns=(1, 1))
    tree(tmp_path, {"c/d/4": "4"})
    shutil.rmtree(tmp_path / "a" / "b")
    assert changed(before, scan(tmp_path)) == {"a/b", "c/d"}  # vanished and new subdirs
    mid = scan(tmp_path)
    (tmp_path / "c/3").write_text("333")
    assert changed(mid, scan(tmp_path)) == {"c"}


def test_watch_waits_for_a_quiet_period() -> None:
    w = Watch(quiet=3.0)
    a = {".": (b"0", frozenset({"x", "y"})), "x": (b"1", frozenset()), "y": (b"1", frozenset())}
    b = {**a, "x": (b"2", frozenset())}
    c = {**b, "y": (b"2", frozenset())}
    assert w.observe(a, 0.0) is None  # baseline
    ev = w.observe(b, 1.0)
    assert ev is not None and ev.kind == "out_of_sync" and ev.paths == frozenset({"x"})
    assert w.observe(c, 2.0) is None  # still changing
    assert w.observe(c, 4.9) is None
    ev = w.observe(c, 5.0)
    assert ev is not None and ev.kind == "in_sync" and ev.paths == frozenset({"x", "y"})
    assert ev.changed_at == 1.0
    assert w.observe(c, 9.0) is None
