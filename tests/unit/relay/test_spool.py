"""The spool on its own: bounds, order, dead area, concurrent writers, SIGKILL."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time

import pytest

from fedbus.errors import ValidationError
from fedbus.message.envelope import encode, new_message
from fedbus.relay import Spool, SpoolFull, publish

TOPIC = "org.fedoraproject.local.git.commit.receive"


def put(spool: Spool, i: int) -> int:
    return spool.put(f"{TOPIC}", json.dumps({"i": i}).encode(), {"message_id": str(i)})


def test_put_peek_delete_in_order(tmp_path):
    spool = Spool(tmp_path)
    ids = [put(spool, i) for i in range(10)]
    assert ids == sorted(ids)
    got = spool.peek(0, 4)
    assert [json.loads(m.body)["i"] for m in got] == [0, 1, 2, 3]
    assert [m.properties["message_id"] for m in spool.peek(got[-1].id, 100)] == [
        str(i) for i in range(4, 10)]
    spool.delete([m.id for m in got])
    assert spool.totals()[0] == 6
    assert spool.stats().count == 6


def test_bounded_by_messages_and_bytes(tmp_path):
    spool = Spool(tmp_path, max_messages=3)
    for i in range(3):
        put(spool, i)
    with pytest.raises(SpoolFull) as err:
        put(spool, 3)
    assert "\n" not in str(err.value) and "full" in str(err.value)
    spool.delete([spool.peek()[0].id])
    put(spool, 4)  # room again
    small = Spool(tmp_path / "b", max_bytes=200)
    small.put(TOPIC, b"x" * 100, {})
    with pytest.raises(SpoolFull):
        small.put(TOPIC, b"x" * 100, {})


def test_bury_and_requeue(tmp_path):
    spool = Spool(tmp_path)
    put(spool, 1)
    [m] = spool.peek()
    path = spool.bury(m, "refused by the broker: 403 ACCESS_REFUSED")
    record = json.loads(path.read_text())
    assert record["reason"].startswith("refused") and record["routing_key"] == TOPIC
    assert spool.totals() == (0, 0) and spool.dead() == [path]
    assert spool.requeue_dead() == 1
    assert [json.loads(x.body) for x in spool.peek()] == [{"i": 1}]
    assert spool.dead() == []


def test_publish_validates_and_spools(tmp_path):
    msg = new_message(TOPIC, {"a": 1}, schema="base.message")
    publish(msg, spool_dir=tmp_path)
    publish(encode(msg), spool_dir=tmp_path)
    assert Spool(tmp_path).totals()[0] == 2
    bad = new_message(TOPIC, {"a": 1}, schema="base.message")
    bad.topic = "not a topic"
    with pytest.raises(ValidationError):
        publish(bad, spool_dir=tmp_path)


def _writer(directory: str, tag: str, count: int) -> None:
    spool = Spool(directory)
    for i in range(count):
        spool.put(TOPIC, json.dumps({"w": tag, "i": i}).encode(), {})


def test_concurrent_writer_processes_keep_their_order(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"w{n}", 300)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    bodies = [json.loads(m.body) for m in Spool(tmp_path).peek(0, 10_000)]
    assert len(bodies) == 1200
    for n in range(4):
        assert [b["i"] for b in bodies if b["w"] == f"w{n}"] == list(range(300))


def _endless_writer(directory: str) -> None:
    spool = Spool(directory)
    i = 0
    while True:
        spool.put(TOPIC, json.dumps({"i": i}).encode(), {})
        i += 1


def test_sigkill_of_a_writer_leaves_a_consistent_prefix(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_endless_writer, args=(str(tmp_path),))
    proc.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (tmp_path / "spool.sqlite3").exists() and Spool(tmp_path).totals()[0] > 500:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    spool = Spool(tmp_path)
    db = sqlite3.connect(tmp_path / "spool.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    bodies = [json.loads(m.body)["i"] for m in spool.peek(0, 10**7)]
    assert bodies == list(range(len(bodies))) and len(bodies) > 500
    assert spool.totals()[0] == len(bodies)
    put(spool, -1)  # still writable


def test_database_files_are_group_writable_whatever_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        Spool(tmp_path)
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "spool.sqlite3").stat().st_mode)
    assert mode & 0o060 == 0o060, oct(mode)


def test_database_files_are_0660_with_the_directory_group(tmp_path):
    """Only the owner and the spool group (the directory's) read or write the messages, the
    -wal and -shm files included, whatever the creator's umask."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        spool = Spool(tmp_path)
        put(spool, 1)
    finally:
        os.umask(old)
    for name in ("spool.sqlite3", "spool.sqlite3-wal", "spool.sqlite3-shm"):
        st = (tmp_path / name).stat()
        assert stat.S_IMODE(st.st_mode) == 0o660, (name, oct(st.st_mode))
        assert st.st_gid == tmp_path.stat().st_gid, name
    spool.close()


def test_reopening_fixes_a_world_readable_database(tmp_path):
    import stat

    Spool(tmp_path).close()
    (tmp_path / "spool.sqlite3").chmod(0o644)
    Spool(tmp_path).close()
    assert stat.S_IMODE((tmp_path / "spool.sqlite3").stat().st_mode) == 0o660
