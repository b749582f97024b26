"""The consumer framework against the real broker: ack, dead letters, requeue, dedupe, stop."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable

import aio_pika
import pika
import pytest

from fedbus.client import Publisher
from fedbus.consumer import Consumer, Deduplicator, Reject, Requeue
from fedbus.message.envelope import encode, new_message

pytestmark = pytest.mark.integration

TOPIC = "org.fedoraproject.local.git.commit.receive"
CANARY = "org.fedoraproject.local.bus.canary.sent"


def good(i: int):
    return encode(new_message(TOPIC, {"i": i}, schema="base.message"))


async def raw_publish(url: str, routing_key: str, body: bytes, headers: dict) -> None:
    conn = await aio_pika.connect(url)
    async with conn:
        ch = await conn.channel()
        msg = aio_pika.Message(body, headers=headers, content_type="application/json",
                               content_encoding="utf-8", message_id=str(uuid.uuid4()))
        ex = await ch.get_exchange("amq.topic", ensure=False)
        await ex.publish(msg, routing_key)


def dead_letters(url: str, queue: str) -> list[tuple[dict, bytes]]:
    out = []
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        while True:
            method, props, body = ch.basic_get(f"{queue}.dlq", auto_ack=True)
            if method is None:
                return out
            out.append((props.headers, body))


async def run_until(consumer: Consumer, done: Callable[[], bool], timeout: float = 30,
                    before: Callable[[], Awaitable[None]] | None = None) -> None:
    task = asyncio.ensure_future(consumer.run())
    await asyncio.wait_for(consumer.ready.wait(), 10)
    if before is not None:
        await before()
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    consumer.stop()
    await asyncio.wait_for(task, 30)


def test_bad_messages_are_dead_lettered_and_the_consumer_goes_on(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = f"svc-{uuid.uuid4().hex[:6]}"
    handled: list[int] = []

    async def handler(message) -> None:
        if message.body.get("i") == 3:
            raise Reject("i=3 is not for us")
        handled.append(message.body["i"])

    consumer = Consumer(url, queue, ["org.fedoraproject.local.#"], handler)

    async def feed() -> None:
        async with Publisher(url) as pub:
            await pub.publish(good(1))
        schema = {"fedora_messaging_schema": "base.message", "fedora_messaging_severity": 20}
        await raw_publish(url, TOPIC, b"{not json", schema)
        canary = {"fedora_messaging_schema": "fedbus.bus.canary.v1",
                  "fedora_messaging_severity": 20}
        await raw_publish(url, CANARY, b'{"origin": "x"}', canary)  # schema violation
        async with Publisher(url) as pub:
            await pub.publish_many([good(2), good(3), good(4)])

    asyncio.run(run_until(consumer, lambda: len(handled) >= 3, before=feed))
    assert handled == [1, 2, 4]
    dead = dead_letters(url, queue)
    reasons = [h["x-fedbus-reason"] for h, _ in dead]
    assert len(dead) == 3
    assert "not JSON" in reasons[0]
    assert "fedbus.bus.canary.v1" in reasons[1] and "required" in reasons[1]
    assert reasons[2] == "rejected by the handler: i=3 is not for us"
    for headers, _ in dead:
        assert headers["x-fedbus-failed-at"].endswith("Z")
        assert headers["x-fedbus-original-queue"] == queue
        assert headers["x-fedbus-original-topic"] in (TOPIC, CANARY)
        assert "\n" not in headers["x-fedbus-reason"]
    assert dead[0][1] == b"{not json"
    assert consumer.counters["acked"] == 3 and consumer.counters["dead"] == 3


def test_requeue_with_backoff_then_success(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = f"svc-{uuid.uuid4().hex[:6]}"
    calls: list[float] = []

    def handler(message) -> None:  # a plain function: run in a thread
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise Requeue("database busy")

    consumer = Consumer(url, queue, [TOPIC], handler, initial_backoff=0.2)

    async def feed() -> None:
        async with Publisher(url) as pub:
            await pub.publish(good(1))

    asyncio.run(run_until(consumer, lambda: consumer.counters["acked"] == 1, before=feed))
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.15 and calls[2] - calls[1] >= 0.35  # 0.2 s, then 0.4 s
    assert consumer.counters["requeued"] == 2


def test_transient_errors_give_up_after_max_attempts(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = f"svc-{uuid.uuid4().hex[:6]}"

    async def handler(message) -> None:
        raise RuntimeError("mirror unreachable")

    consumer = Consumer(url, queue, [TOPIC], handler, initial_backoff=0.05, max_attempts=3)

    async def feed() -> None:
        async with Publisher(url) as pub:
            await pub.publish(good(1))

    asyncio.run(run_until(consumer, lambda: consumer.counters["dead"] == 1, before=feed))
    [(headers, _)] = dead_letters(url, queue)
    assert headers["x-fedbus-reason"].startswith("gave up after 3 attempts: RuntimeError")


def test_dedupe_processes_each_message_id_once(broker, vhost, tmp_path):
    url = broker.amqp_url(vhost)
    queue = f"svc-{uuid.uuid4().hex[:6]}"
    handled: list[int] = []

    async def handler(message) -> None:
        handled.append(message.body["i"])

    dedupe = Deduplicator(path=tmp_path / "seen.sqlite3")
    consumer = Consumer(url, queue, [TOPIC], handler, dedupe=dedupe)
    one, two = good(1), good(2)

    async def feed() -> None:
        async with Publisher(url) as pub:
            await pub.publish_many([one, one, two, one, two])

    asyncio.run(run_until(consumer, lambda: consumer.counters["duplicates"] == 3, before=feed))
    assert handled == [1, 2]


def test_works_with_the_broker_role_policy_and_a_quorum_queue(broker, vhost):
    """The role declares Q (quorum) and Q.dlq and sets the fedbus.dlx policy: reuse them."""
    url = broker.amqp_url(vhost)
    queue = f"svc-{uuid.uuid4().hex[:6]}"
    qv = urllib.parse.quote(vhost, safe="")
    broker.api("PUT", f"exchanges/{qv}/fedbus.dlx", {"type": "headers", "durable": True})
    broker.api("PUT", f"policies/{qv}/fedbus-queues",
               {"pattern": r"^(?!amq\.)(?!.*\.dlq$)", "apply-to": "queues",
                "definition": {"dead-letter-exchange": "fedbus.dlx"}})
    for name in (queue, f"{queue}.dlq"):
        broker.api("PUT", f"queues/{qv}/{name}",
                   {"durable": True, "arguments": {"x-queue-type": "quorum"}})
    handled: list[int] = []

    async def handler(message) -> None:
        if message.body["i"] == 2:
            raise Reject("no")
        handled.append(message.body["i"])

    consumer = Consumer(url, queue, [TOPIC], handler)

    async def feed() -> None:
        async with Publisher(url) as pub:
            await pub.publish_many([good(1), good(2), good(3)])

    asyncio.run(run_until(consumer, lambda: len(handled) == 2, before=feed))
    assert handled == [1, 3]
    assert len(dead_letters(url, queue)) == 1


def test_stop_finishes_in_flight_work_and_puts_back_the_rest(broker, vhost):
    url = broker.amqp_url(vhost)
    queue = f"svc-{uuid.uuid4().hex[:6]}"
    started = asyncio.Event()
    finished: list[int] = []

    async def handler(message) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(message.body["i"])

    consumer = Consumer(url, queue, [TOPIC], handler, prefetch=5)

    async def go() -> None:
        task = asyncio.ensure_future(consumer.run())
        await asyncio.wait_for(consumer.ready.wait(), 10)
        async with Publisher(url) as pub:
            await pub.publish_many([good(i) for i in range(5)])
        await asyncio.wait_for(started.wait(), 10)
        consumer.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(go())
    assert finished == [0]
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        assert conn.channel().queue_declare(queue, passive=True).method.message_count == 4
