"""The framework's retry path, for bus messages and notifier jobs alike (no broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from fedbus.consumer import Consumer, Later, Reject
from fedbus.consumer.consumer import BaseConsumer
from fedbus.notifier.jobs import ATTEMPTS, JobConsumer


@dataclass
class Incoming:
    """What the retry path reads of an aio-pika incoming message, and what it does."""

    message_id: str = "m-1"
    headers: dict[str, Any] = field(default_factory=dict)
    body: bytes = b"{}"
    routing_key: str = "org.fedoraproject.test.x"
    delivery_tag: int = 1
    content_type: str = "application/json"
    done: list[str] = field(default_factory=list)

    async def nack(self, requeue: bool = True) -> None:
        self.done.append(f"nack requeue={requeue}")

    async def ack(self) -> None:
        self.done.append("ack")


class Exchange:
    def __init__(self) -> None:
        self.published: list[tuple[Any, str]] = []

    async def publish(self, message: Any, routing_key: str, **_: Any) -> None:
        self.published.append((message, routing_key))


def run_retry(consumer: BaseConsumer[Any], incoming: Incoming, exc: Exception) -> list[str]:
    dead: list[str] = []

    async def to_dlq(_incoming: Any, reason: str) -> None:
        dead.append(reason)

    consumer._dead = to_dlq  # type: ignore[method-assign]
    consumer._queues = Exchange()  # type: ignore[assignment]
    asyncio.run(consumer._retry(incoming, exc))  # type: ignore[arg-type]
    return dead


def consumer(**kw: Any) -> Consumer:
    return Consumer("amqp://h/", "q", ["#"], lambda m: None, initial_backoff=0.0, **kw)


def jobs(**kw: Any) -> JobConsumer:
    async def handle(_job: Any) -> None:
        return None

    return JobConsumer(["amqp://h/"], "notifier.email", handle, initial_backoff=0.0, **kw)


def test_a_bus_message_is_requeued_counted_then_dead_lettered() -> None:
    c, incoming = consumer(max_attempts=2), Incoming()
    assert run_retry(c, incoming, RuntimeError("boom")) == []
    assert incoming.done == ["nack requeue=True"] and c.attempts(incoming) == 1  # type: ignore[arg-type]
    assert run_retry(c, incoming, RuntimeError("boom")) == [
        "gave up after 2 attempts: RuntimeError: boom"
    ]


def test_later_puts_back_after_its_delay_without_counting_an_attempt() -> None:
    c, incoming = consumer(max_attempts=1), Incoming()
    assert run_retry(c, incoming, Later("rate limit", delay=0.0)) == []
    assert incoming.done == ["nack requeue=True"] and c.attempts(incoming) == 0  # type: ignore[arg-type]

    j, job = jobs(max_attempts=1), Incoming(headers={ATTEMPTS: 3})
    assert run_retry(j, job, Later("rate limit", delay=0.0)) == []
    [(copy, key)] = j.queues_exchange.published  # type: ignore[attr-defined]
    assert key == "notifier.email" and copy.headers[ATTEMPTS] == 3 and job.done == ["ack"]


def test_a_job_goes_back_at_the_tail_with_its_attempt_count() -> None:
    j, job = jobs(max_attempts=3), Incoming(headers={ATTEMPTS: 1, "other": "kept"})
    assert run_retry(j, job, ConnectionError("smtp away")) == []
    [(copy, key)] = j.queues_exchange.published  # type: ignore[attr-defined]
    assert key == "notifier.email" and copy.headers == {ATTEMPTS: 2, "other": "kept"}
    assert copy.message_id == "m-1" and job.done == ["ack"]
    last = Incoming(headers={ATTEMPTS: 2})
    assert run_retry(j, last, ConnectionError("smtp away")) == [
        "gave up after 3 attempts: ConnectionError: smtp away"
    ]
    assert j.attempts(Incoming(headers={ATTEMPTS: "x"})) == 0  # type: ignore[arg-type]


def test_a_job_is_decoded_as_a_job_and_a_bad_one_is_a_reject() -> None:
    j = jobs()
    with pytest.raises(Reject, match="not a notification job"):
        j.decode(Incoming(body=b"{not json"))  # type: ignore[arg-type]
    assert j.bindings == ["notifier.email"] and j.exchange_name == "fedbus.queues"
    assert j.dead_letter_queue == "notifier.email.dlq" and j.REJECTED == ""
