"""Deduplicator (LRU, persistent) and the small connection helpers."""

from __future__ import annotations

from fedbus.client.connect import Backoff, redact
from fedbus.consumer import Deduplicator


def test_lru_forgets_the_oldest():
    d = Deduplicator(capacity=3)
    for mid in "abc":
        d.add(mid)
    assert d.seen("a")  # refreshes a
    d.add("d")
    assert not d.seen("b") and d.seen("a") and d.seen("d") and len(d) == 3


def test_persistent_survives_restart(tmp_path):
    d = Deduplicator(capacity=100, path=tmp_path / "seen.sqlite3")
    d.add("m1")
    d.close()
    again = Deduplicator(capacity=100, path=tmp_path / "seen.sqlite3")
    assert again.seen("m1") and not again.seen("m2")


def test_backoff_grows_and_caps():
    b = Backoff(0.5, 4.0)
    delays = [b.next_delay() for _ in range(6)]
    assert delays[0] <= 0.5 and delays[-1] <= 4.0 and delays[3] >= 3.2
    b.reset()
    assert b.next_delay() <= 0.5


def test_redact_hides_the_password():
    assert redact("amqps://svc:s3cret@bus.example.org:5671/%2Fprod") == (
        "amqps://svc@bus.example.org:5671/%2Fprod")
