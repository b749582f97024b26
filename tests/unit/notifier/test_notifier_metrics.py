"""The senders' and the digest service's metrics, read through a registry as a scrape
reads them: each count moved by the real code path (a real SQLite ledger and database)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from fedbus.notifier.digest import Digests
from fedbus.notifier.jobs import Job
from fedbus.notifier.ledger import Ledger
from fedbus.notifier.metrics import NotifierCollector
from fedbus.notifier.migrate import upgrade
from fedbus.notifier.senders.service import Sender
from fedbus.notifier.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    return Store.open(url)


class Transport:
    """Sends fail while ``broken``."""

    def __init__(self) -> None:
        self.broken = False
        self.sent: list[str] = []

    async def send(self, job: Job) -> None:
        if self.broken:
            raise OSError("the server is away")
        self.sent.append(job.key)

    async def close(self) -> None:
        pass


class Queue:
    def __init__(self) -> None:
        self.counters = {"requeued": 2, "dead": 1}  # what its JobConsumer counted


def registry(collector: NotifierCollector) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(collector)
    return reg


def test_sender_counts_by_destination_type(store: Store) -> None:
    me = store.user("alice")
    dest, token = me.add_destination("email", "a@x.org")
    assert me.verify_destination(dest.id, token)
    transport = Transport()
    sender = Sender(Ledger(store, stale_after=60), transport, kind="email")
    sender.consumer = Queue()  # type: ignore[assignment]
    collector = NotifierCollector()
    collector.track_sender(sender)
    reg = registry(collector)

    def job(i: int) -> Job:
        return Job(f"m{i}", me.user_id, "alice", dest.id, "email", "a@x.org", "immediate",
                   "t", f"s{i}")

    async def run() -> None:
        await sender.handle(job(1))
        await sender.handle(job(1))  # already sent: a duplicate
        transport.broken = True
        with pytest.raises(OSError):
            await sender.handle(job(2))

    asyncio.run(run())

    def value(name: str) -> float | None:
        return reg.get_sample_value(name, {"type": "email"})

    assert value("fedbus_sender_sent_total") == 1
    assert value("fedbus_sender_duplicates_total") == 1
    assert value("fedbus_sender_failed_total") == 1
    assert value("fedbus_sender_retried_total") == 2
    assert value("fedbus_sender_dead_total") == 1
    assert reg.get_sample_value("fedbus_sender_sent_total", {"type": "irc"}) is None


class Publisher:
    def __init__(self) -> None:
        self.broken = False
        self.jobs: list[tuple[str, Job]] = []

    async def publish(self, jobs: list[tuple[str, Job]]) -> None:
        if self.broken:
            raise ConnectionError("the broker is away")
        self.jobs += jobs


def test_digest_rounds_are_counted(store: Store) -> None:
    import datetime as dt

    me = store.user("alice")
    dest, token = me.add_destination("email", "a@x.org", delivery="hourly")
    assert me.verify_destination(dest.id, token)
    publisher = Publisher()
    digests = Digests(store, publisher, "https://n.test")  # type: ignore[arg-type]
    collector = NotifierCollector()
    collector.track_digests(digests)
    reg = registry(collector)
    assert reg.get_sample_value("fedbus_digest_last_run_timestamp_seconds") == 0
    for i in range(3):
        digests.keep_sync(Job(f"m{i}", me.user_id, "alice", dest.id, "email", "a@x.org",
                              "hourly", "t", f"summary {i}"))  # fmt: skip
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=2)
    publisher.broken = True
    with pytest.raises(ConnectionError):
        asyncio.run(digests.flush(later))
    failed_at = reg.get_sample_value("fedbus_digest_last_run_timestamp_seconds")
    assert failed_at is not None and failed_at > 0
    assert reg.get_sample_value("fedbus_digest_last_success_timestamp_seconds") == 0
    publisher.broken = False
    assert asyncio.run(digests.flush(later)) == 1
    assert reg.get_sample_value("fedbus_digest_sent_total") == 1
    assert reg.get_sample_value("fedbus_digest_items_total") == 3
    assert reg.get_sample_value("fedbus_digest_runs_total", {"result": "ok"}) == 1
    assert reg.get_sample_value("fedbus_digest_runs_total", {"result": "failed"}) == 1
    ok_at = reg.get_sample_value("fedbus_digest_last_success_timestamp_seconds")
    assert ok_at is not None and ok_at >= failed_at
    duration = reg.get_sample_value("fedbus_digest_last_run_duration_seconds")
    assert duration is not None and duration > 0
