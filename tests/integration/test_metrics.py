"""The services' Prometheus endpoints as Prometheus scrapes them (parsed with
prometheus-client's own parser): the relay's backlog while the broker is away, then what it
forwarded once it is back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from support.notifier_servers import free_port
from support.polling import wait_for
from support.prometheus import answers, families, scrape

from fedbus import metrics
from fedbus.client import Publisher
from fedbus.consumer import Consumer, Reject
from fedbus.message.envelope import encode, new_message
from tests.conftest import Broker

pytestmark = pytest.mark.integration
FEDBUS = [sys.executable, "-m", "fedbus.cli.main"]
TOPIC = "org.fedoraproject.local.bus.canary.sent"


def relay(url: str, spool: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*FEDBUS, "--metrics", f"127.0.0.1:{port}", "relay", "--url", url,
                             "--spool", str(spool)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: answers(port), 20, "the relay's metrics endpoint")
    return proc


def test_relay_metrics_backlog_then_forwarded(broker: Broker, vhost: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    for i in range(5):
        subprocess.run([*FEDBUS, "publish", TOPIC, "--spool", str(spool), "--json",
                        f'{{"origin": "metrics", "nonce": "{i}", '
                        f'"sent_at": "2026-12-07T00:00:00+00:00"}}'],
                       check=True, capture_output=True, timeout=30)
    port = free_port()
    down = relay(f"amqp://127.0.0.1:{free_port()}/%2F", spool, port)  # no broker there
    try:
        time.sleep(1.1)
        m = scrape(port)
        assert m["fedbus_relay_backlog_messages"] == 5
        assert m["fedbus_relay_backlog_bytes"] > 0
        assert m["fedbus_relay_oldest_message_age_seconds"] >= 1
        assert m["fedbus_relay_connected"] == 0
        assert m["fedbus_relay_forwarded_total"] == 0
    finally:
        down.terminate()
        down.wait(10)
    up = relay(broker.amqp_url(vhost), spool, port)
    try:
        m = wait_for(lambda: (got := scrape(port))["fedbus_relay_forwarded_total"] == 5 and got,
                     30, "the relay to forward the backlog")
        assert m["fedbus_relay_backlog_messages"] == 0
        assert m["fedbus_relay_oldest_message_age_seconds"] == 0
        assert m["fedbus_relay_connected"] == 1
        assert m["fedbus_relay_connections_total"] == 1
        assert m["fedbus_relay_set_aside_total"] == 0
    finally:
        up.terminate()
        up.wait(10)


def test_a_bad_metrics_address_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([*FEDBUS, "--metrics", "9641", "relay", "--spool", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "expected HOST:PORT (an IP address), got '9641'" in proc.stderr
    assert proc.stderr.count("\n") == 1


class Counter:
    """A handler object with counts of its own, as the notifier's services have."""

    def __init__(self) -> None:
        self.counters = {"seen": 0}

    async def handle(self, message) -> None:
        if message.body.get("i") == 2:
            raise Reject("i=2 is not for us")
        self.counters["seen"] += 1


def test_consumer_metrics_count_each_outcome_by_queue(broker: Broker, vhost: str) -> None:
    """The consumer framework's collector, served as ``fedbus --metrics`` serves it."""
    url, queue = broker.amqp_url(vhost), f"metrics-{uuid.uuid4().hex[:6]}"
    port = free_port()
    metrics.serve(("127.0.0.1", port))
    handler = Counter()
    consumer = Consumer(url, queue, ["org.fedoraproject.local.#"], handler.handle)

    async def run() -> None:
        task = asyncio.ensure_future(consumer.run())
        await asyncio.wait_for(consumer.ready.wait(), 10)
        async with Publisher(url) as pub:
            for i in range(4):
                await pub.publish(encode(new_message(TOPIC, {"origin": "m", "nonce": str(i),
                                                             "sent_at": "2026-12-07T00:00:00Z",
                                                             "i": i}, schema="base.message")))
        deadline = time.monotonic() + 30
        while consumer.counters["received"] < 4:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        consumer.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(run())
    seen = families(port)

    def value(family: str, sample: str | None = None) -> float:
        return next(s.value for s in seen[family].samples
                    if s.labels.get("queue") == queue and s.name == (sample or family + "_total"))

    assert value("fedbus_consumer_received") == 4
    assert value("fedbus_consumer_acked") == 3
    assert value("fedbus_consumer_dead") == 1
    assert value("fedbus_handler_seen") == 3
    assert value("fedbus_consumer_handler_seconds", "fedbus_consumer_handler_seconds_count") == 4
