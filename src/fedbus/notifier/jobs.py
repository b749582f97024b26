"""Notification jobs and the outbound queues they travel on.

A job is one JSON object (:class:`Job`) for one (message, user, destination).  The worker
publishes it, with publisher confirms, persistent, on ``fedbus.queues`` (never the default
exchange: see :mod:`fedbus.consumer.queues`) to the queue of its destination type —
``notifier.email``, ``notifier.irc`` — or to ``notifier.digest`` for digest destinations:
one queue per type, so a stuck IRC sender never delays mail.

:class:`JobConsumer` is the senders' side: a durable queue, prefetch, the handler per job;
returning acks, :class:`~fedbus.consumer.Reject` (or a bad job) dead-letters a copy to
``<queue>.dlq`` with the reason, :class:`~fedbus.consumer.Later` puts the job back after
its delay, any other exception puts it back after a backoff (1, 2, 4 … 60 s) and after
``max_attempts`` dead-letters it.  It is the consumer framework (:mod:`fedbus.consumer`)
with jobs for messages: reconnecting, backoff and dead-lettering are the framework's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from pamqp import commands as spec

from fedbus.client.connect import Backoff, TlsOptions, connect_any
from fedbus.consumer.consumer import BaseConsumer
from fedbus.consumer.errors import Reject
from fedbus.consumer.queues import QUEUE_EXCHANGE, own_queue, queue_exchange

log = logging.getLogger("fedbus.notifier.jobs")
ATTEMPTS = "x-fedbus-attempts"


@dataclass
class Job:
    message_id: str
    user_id: int
    user: str
    destination_id: int
    kind: str  # email | irc
    address: str
    delivery: str  # immediate | hourly | daily
    topic: str
    summary: str
    subject: str = ""
    text: str = ""
    url: str | None = None
    rule_ids: list[int] = field(default_factory=list)
    digest_cap: int = 50
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The idempotency key: (message, user, destination)."""
        return f"{self.message_id}/{self.user_id}/{self.destination_id}"

    def encode(self) -> bytes:
        # the fields as they are (dataclasses.asdict deep-copies them first: 3x dearer)
        return json.dumps(self.__dict__, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, body: bytes) -> Job:
        try:
            data = json.loads(body)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise Reject(f"not a notification job: {' '.join(str(exc).split())}") from exc


class JobPublisher:
    """Publishes jobs with confirms on a connection of its own."""

    def __init__(self, urls: Sequence[str], tls: TlsOptions | None = None) -> None:
        self.urls = list(urls)
        self.tls = tls
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._declared: set[str] = set()
        self._lock = asyncio.Lock()

    async def _ready(self) -> AbstractChannel:
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                if self._connection is not None:
                    with contextlib.suppress(Exception):
                        await self._connection.close()
                self._connection, _ = await connect_any(
                    self.urls, tls=self.tls, backoff=Backoff(0.2, 5.0),
                    deadline=asyncio.get_running_loop().time() + 30, name="fedbus-notifier",
                )  # fmt: skip
                self._channel = await self._connection.channel(publisher_confirms=True)
                self._declared.clear()
            return self._channel

    async def declare(self, queue: str) -> None:
        channel = await self._ready()
        if queue not in self._declared:
            connection = self._connection
            assert connection is not None
            if not self._declared:
                await queue_exchange(connection, channel)
            await own_queue(connection, channel, queue)
            await own_queue(connection, channel, f"{queue}.dlq")
            self._declared.add(queue)

    async def publish(self, jobs: Sequence[tuple[str, Job]]) -> None:
        """Publish ``(queue, job)`` pairs; returns once the broker confirmed them all."""
        if not jobs:
            return
        channel = await self._ready()
        for queue in {q for q, _ in jobs}:
            await self.declare(queue)
        # straight on the AMQP channel: aio_pika's Message and Exchange layers cost about
        # 0.5 ms of CPU per job, a third of a worker's time per message
        amqp = await channel.get_underlay_channel()
        try:
            confirms = await asyncio.gather(*(
                amqp.basic_publish(
                    job.encode(), exchange=QUEUE_EXCHANGE, routing_key=queue, mandatory=True,
                    properties=spec.Basic.Properties(
                        content_type="application/json", delivery_mode=2, message_id=job.key,
                    ),
                )
                for queue, job in jobs
            ))  # fmt: skip
        except Exception:
            self._channel = None  # reconnect next time; the caller retries the message
            raise
        refused = [c for c in confirms if not isinstance(c, spec.Basic.Ack)]
        if refused:  # nacked, or returned as unroutable: the caller retries the message
            raise ConnectionError(f"the broker did not take {len(refused)} job(s): {refused[0]!r}")

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = None


class JobConsumer(BaseConsumer[Job]):
    """Consume one outbound queue with ``handler`` (see the module docstring).

    The consumer framework (:class:`~fedbus.consumer.consumer.BaseConsumer`) with jobs for
    messages: the queue is bound to ``fedbus.queues`` under its own name (not to topics on
    ``amq.topic``), a body is a :class:`Job` (a bad one is dead-lettered with the reason),
    a handler's :class:`~fedbus.consumer.Reject` is dead-lettered with its reason alone,
    and a job that failed goes back at the tail of the queue with its attempt count in the
    ``x-fedbus-attempts`` header, so the count holds across senders and restarts.
    """

    REJECTED = ""
    FINISH_ON_LOSS = True  # a mail or IRC line is not cut halfway when the broker goes

    def __init__(
        self,
        urls: Sequence[str],
        queue: str,
        handler: Callable[[Job], Awaitable[None]],
        *,
        tls: TlsOptions | None = None,
        prefetch: int = 20,
        concurrency: int = 4,
        max_attempts: int = 8,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        super().__init__(
            urls, queue, [queue], handler, exchange=QUEUE_EXCHANGE, tls=tls, prefetch=prefetch,
            concurrency=concurrency, max_attempts=max_attempts,
            initial_backoff=initial_backoff, max_backoff=max_backoff, name=f"fedbus-{queue}",
        )  # fmt: skip

    def decode(self, incoming: AbstractIncomingMessage) -> Job:
        return Job.decode(incoming.body)

    def attempts(self, incoming: AbstractIncomingMessage) -> int:
        raw = (incoming.headers or {}).get(ATTEMPTS, 0)
        return raw if isinstance(raw, int) else 0

    async def put_back(self, incoming: AbstractIncomingMessage, attempts: int,
                       delay: float) -> None:  # fmt: skip
        """After ``delay``, put the job back at the tail with its attempt count (the copy is
        confirmed before the original is acked: a crash in between only duplicates it, and
        the ledger sends a key once)."""
        await self.pause(delay)
        headers = {**(incoming.headers or {}), ATTEMPTS: attempts}
        await self.queues_exchange.publish(
            aio_pika.Message(incoming.body, headers=headers, message_id=incoming.message_id,
                             content_type=incoming.content_type,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=self.queue_name,
        )  # fmt: skip
        await incoming.ack()
        self.counters["requeued"] += 1
