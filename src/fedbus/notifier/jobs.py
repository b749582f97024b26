"""Notification jobs and the outbound queues they travel on.

A job is one JSON object (:class:`Job`) for one (message, user, destination).  The worker
publishes it, with publisher confirms, persistent, on ``fedbus.queues`` (never the default
exchange: see :mod:`fedbus.consumer.queues`) to the queue of its destination type —
``notifier.email``, ``notifier.irc`` — or to ``notifier.digest`` for digest destinations:
one queue per type, so a stuck IRC sender never delays mail.

:class:`JobConsumer` is the senders' side: a durable queue, prefetch, the handler per job;
returning acks, :class:`~fedbus.consumer.Reject` (or a bad job) dead-letters a copy to
``<queue>.dlq`` with the reason, any other exception puts the job back after a backoff
(1, 2, 4 … 60 s) and after ``max_attempts`` dead-letters it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)
from pamqp import commands as spec

from fedbus.client.connect import Backoff, TlsOptions, connect_any, redact
from fedbus.consumer.deadletter import dead_letter
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


JobHandler = Callable[[Job], Awaitable[None]]


class Later(Exception):
    """Not a failure: the job cannot be handled yet; put it back after ``delay`` seconds
    without counting an attempt."""

    def __init__(self, message: str, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


class JobConsumer:
    """Consume one outbound queue with ``handler`` (see the module docstring)."""

    def __init__(
        self,
        urls: Sequence[str],
        queue: str,
        handler: JobHandler,
        *,
        tls: TlsOptions | None = None,
        prefetch: int = 20,
        concurrency: int = 4,
        max_attempts: int = 8,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        self.urls, self.queue, self.handler, self.tls = list(urls), queue, handler, tls
        self.prefetch, self.concurrency, self.max_attempts = prefetch, concurrency, max_attempts
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self.counters = {"done": 0, "retried": 0, "dead": 0}
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        backoff = Backoff(0.5, 30.0)
        while not self._stop.is_set():
            try:
                connection, url = await connect_any(self.urls, tls=self.tls, backoff=backoff,
                                                    name=f"fedbus-{self.queue}")  # fmt: skip
            except Exception as exc:  # pragma: no cover - connect_any retries for ever
                log.warning("cannot connect: %s", exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            try:
                await self._session(connection, url)
            except (aiormq.exceptions.AMQPError, OSError, ConnectionError) as exc:
                log.warning("connection to %s lost: %s", redact(url), exc)
            finally:
                self.ready.clear()
                with contextlib.suppress(Exception):
                    await connection.close()
            if not self._stop.is_set():
                await asyncio.sleep(backoff.next_delay())

    async def _session(self, connection: AbstractConnection, url: str) -> None:
        lost = asyncio.Event()
        connection.close_callbacks.add(lambda *_: lost.set())
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        await queue_exchange(connection, channel)
        queue = await own_queue(connection, channel, self.queue)
        await own_queue(connection, channel, f"{self.queue}.dlq")
        confirmed = await connection.channel(publisher_confirms=True)
        out = await confirmed.get_exchange(QUEUE_EXCHANGE, ensure=False)
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        tag = await queue.consume(inbox.put)
        log.info("consuming %s on %s", self.queue, redact(url))
        self.ready.set()
        workers = [asyncio.ensure_future(self._work(inbox, out)) for _ in range(self.concurrency)]
        stopper = asyncio.ensure_future(self._stop.wait())
        closed = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({stopper, closed, *workers}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            closed.cancel()
        if not connection.is_closed:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        for _w in workers:  # each finishes its current job (the handler is not cancelled)
            inbox.put_nowait(None)  # type: ignore[arg-type]
        await asyncio.wait(workers, timeout=30)
        while not inbox.empty():
            m = inbox.get_nowait()
            if m is not None and not connection.is_closed:
                with contextlib.suppress(Exception):
                    await m.nack(requeue=True)
        if not self._stop.is_set():
            raise ConnectionError("connection closed")

    async def _work(self, inbox: asyncio.Queue[AbstractIncomingMessage],
                    out: AbstractExchange) -> None:  # fmt: skip
        while True:
            incoming = await inbox.get()
            if incoming is None:
                return
            if self._stop.is_set():
                await incoming.nack(requeue=True)
                continue
            await self._one(incoming, out)

    async def _one(self, incoming: AbstractIncomingMessage, out: AbstractExchange) -> None:
        try:
            job = Job.decode(incoming.body)
            await self.handler(job)
        except Reject as exc:
            await dead_letter(out, f"{self.queue}.dlq", incoming, self.queue,
                              str(exc))  # fmt: skip
            await incoming.ack()
            self.counters["dead"] += 1
            log.error("job %s dead-lettered: %s", incoming.message_id, exc)
        except Exception as exc:
            raw = (incoming.headers or {}).get(ATTEMPTS, 0)
            attempts = raw if isinstance(raw, int) else 0
            if isinstance(exc, Later):
                log.info("job %s: %s; again in %.1fs", incoming.message_id, exc, exc.delay)
                await self._again(incoming, out, attempts, exc.delay)
                return
            attempts += 1
            if attempts >= self.max_attempts:
                reason = f"gave up after {attempts} attempts: {exc}"
                await dead_letter(out, f"{self.queue}.dlq", incoming,
                                  self.queue, reason)  # fmt: skip
                await incoming.ack()
                self.counters["dead"] += 1
                log.error("job %s dead-lettered after %d attempts: %s",
                          incoming.message_id, attempts, exc)  # fmt: skip
                return
            delay = min(self.max_backoff, self.initial_backoff * 2 ** (attempts - 1))
            log.warning("job %s failed (%s: %s), attempt %d; again in %.1fs",
                        incoming.message_id, type(exc).__name__, exc, attempts, delay)  # fmt: skip
            await self._again(incoming, out, attempts, delay)
        else:
            await incoming.ack()
            self.counters["done"] += 1

    async def _again(self, incoming: AbstractIncomingMessage, out: AbstractExchange,
                     attempts: int, delay: float) -> None:  # fmt: skip
        """After ``delay``, put the job back at the tail with its attempt count (the copy is
        confirmed before the original is acked: a crash in between only duplicates it, and
        the ledger sends a key once)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        headers = {**(incoming.headers or {}), ATTEMPTS: attempts}
        await out.publish(
            aio_pika.Message(incoming.body, headers=headers, message_id=incoming.message_id,
                             content_type=incoming.content_type,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=self.queue,
        )  # fmt: skip
        await incoming.ack()
        self.counters["retried"] += 1
