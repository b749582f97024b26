"""The consumer framework: a durable queue bound to topic patterns, one handler.

>>> async def handle(message):             # a fedora_messaging Message, validated
...     ...
>>> consumer = Consumer(urls, "mirror.tier1", ["org.fedoraproject.prod.mirror.#"], handle)
>>> await consumer.run()                   # until consumer.stop() (SIGTERM with serve())

What happens to each message:

- the handler returns → ack (after marking the id in the deduplicator, if one is given;
  a duplicate of a marked id is acked without calling the handler);
- the body is not JSON, or fails its schema (:func:`fedbus.message.envelope.decode`), or the
  handler raises :class:`Reject` / :class:`Drop` / ``ValidationError`` → a copy goes to the
  dead-letter queue ``<queue>.dlq`` with the reason (see :mod:`.deadletter`), then ack;
  the consumer goes on with the next message;
- the handler raises :class:`Requeue` or any other exception → transient: the message is
  put back after a backoff (1 s, 2 s, 4 s … up to ``max_backoff``; the worker waits, so a
  failing message cannot spin), and after ``max_attempts`` (if set) it is dead-lettered;
- the handler raises :class:`Later` → not a failure: put back after ``exc.delay`` seconds
  without counting an attempt (a rate limit).

:class:`BaseConsumer` is all of this for any kind of message; a subclass says how a body
becomes what its handler takes (:meth:`~BaseConsumer.decode`) and may put messages back
its own way (:meth:`~BaseConsumer.put_back`).  :class:`Consumer` takes the bus's
messages (catalog envelopes); :class:`fedbus.notifier.jobs.JobConsumer` the notifier's
internal jobs.

Queues: the queue is declared passively first (the broker role may have declared it, e.g.
as a quorum queue); if it does not exist it is declared durable (``queue_type``).  The same
for ``<queue>.dlq``, which is also bound to ``fedbus.queues`` under its own name: dead
letters are published there by the framework itself (never through the default exchange,
see :mod:`.queues`).  The broker's ``fedbus.dlx`` policy is not needed for them (if it
exists it still catches what the broker dead-letters on its own: length limit, expiry).

Shutdown (:meth:`Consumer.stop`): cancel the subscription, let each worker finish the message
it is handling, put back what was prefetched and not started, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, Generic, TypeVar

import aiormq
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)
from fedora_messaging.message import Message

from fedbus.client.connect import Backoff, TlsOptions, connect_any, redact
from fedbus.consumer import metrics as consumer_metrics
from fedbus.consumer.deadletter import dead_letter
from fedbus.consumer.dedupe import Deduplicator
from fedbus.consumer.errors import ConsumerError, Later, Reject, Requeue
from fedbus.consumer.queues import QUEUE_EXCHANGE, ensure_queue, own_queue, queue_exchange
from fedbus.consumer.replay import delivered_topic
from fedbus.errors import ValidationError
from fedbus.message.envelope import decode

log = logging.getLogger("fedbus.consumer")

T = TypeVar("T")
Handler = Callable[[Message], Awaitable[None] | None]


class BaseConsumer(Generic[T]):
    """Consume ``queue`` (bound to ``bindings`` on ``exchange``) with ``handler``, which takes
    what :meth:`decode` makes of each message."""

    #: What the reason of a message the handler rejected starts with.
    REJECTED: ClassVar[str] = "rejected by the handler: "
    #: When the connection is lost: let each worker finish the message it is handling (up
    #: to ``stop_timeout``), as on stop, instead of cancelling it halfway.  For handlers
    #: whose work outside the broker must not be cut in two (a mail being sent).
    FINISH_ON_LOSS: ClassVar[bool] = False

    def __init__(
        self,
        urls: str | Sequence[str],
        queue: str,
        bindings: Sequence[str],
        handler: Callable[[T], Awaitable[None] | None],
        *,
        prefetch: int = 10,
        concurrency: int = 1,
        tls: TlsOptions | None = None,
        exchange: str = "amq.topic",
        dead_letter_queue: str | None = None,
        queue_type: str = "classic",
        dedupe: Deduplicator | None = None,
        max_attempts: int | None = None,
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
        stop_timeout: float = 30.0,
        name: str = "fedbus-consumer",
    ) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.queue_name = queue
        self.bindings = list(bindings)
        self.handler = handler
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.tls = tls
        self.exchange_name = exchange
        self.dead_letter_queue = dead_letter_queue or f"{queue}.dlq"
        self.queue_type = queue_type
        self.dedupe = dedupe
        self.max_attempts = max_attempts
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.stop_timeout = stop_timeout
        self.name = name
        self.counters = {"received": 0, "acked": 0, "duplicates": 0, "dead": 0, "requeued": 0}
        self.handler_seconds = consumer_metrics.handler_histogram()
        self.ready = asyncio.Event()  # set while subscribed (tests, health checks)
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._stop = asyncio.Event()
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._queues: AbstractExchange | None = None  # fedbus.queues, confirmed channel
        self._is_async = inspect.iscoroutinefunction(handler)

    def stop(self) -> None:
        """Stop taking messages; :meth:`run` returns once in-flight work is finished."""
        self._stop.set()

    # -- what a subclass says ------------------------------------------------------------

    def decode(self, incoming: AbstractIncomingMessage) -> T:
        """What the handler takes, from ``incoming``; ValidationError or :class:`Reject`
        (with a one-line reason) dead-letters the message."""
        raise NotImplementedError

    def attempts(self, incoming: AbstractIncomingMessage) -> int:
        """How many times handling ``incoming`` failed already (here: counted in memory,
        per message id, by :meth:`put_back`)."""
        return self._attempts.get(self._attempt_key(incoming), 0)

    async def put_back(self, incoming: AbstractIncomingMessage, attempts: int,
                       delay: float) -> None:  # fmt: skip
        """After ``delay`` (cut short by stop), give ``incoming`` back to the queue, to be
        handled again; ``attempts`` failed so far (here: remembered, then nack + requeue)."""
        key = self._attempt_key(incoming)
        self._attempts[key] = attempts
        self._attempts.move_to_end(key)
        while len(self._attempts) > 10_000:
            self._attempts.popitem(last=False)
        await self.pause(delay)
        await incoming.nack(requeue=True)
        self.counters["requeued"] += 1

    async def pause(self, delay: float) -> None:
        """Wait ``delay`` seconds, or until :meth:`stop`."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay)

    @property
    def queues_exchange(self) -> AbstractExchange:
        """``fedbus.queues`` on a channel with publisher confirms (while connected)."""
        assert self._queues is not None
        return self._queues

    @staticmethod
    def _attempt_key(incoming: AbstractIncomingMessage) -> str:
        return incoming.message_id or f"tag:{incoming.delivery_tag}"

    # -- the outer loop: connect, consume, reconnect -------------------------------------

    async def run(self) -> None:
        consumer_metrics.COLLECTOR.track(self)  # served by ``fedbus --metrics``
        backoff = Backoff(0.5, 30.0)
        while not self._stop.is_set():
            connect = asyncio.ensure_future(
                connect_any(self.urls, tls=self.tls, backoff=backoff, name=self.name)
            )
            stopper = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({connect, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not connect.done():
                connect.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connect
                break
            connection, url = connect.result()
            try:
                await self._session(connection, url)
            except (aiormq.exceptions.AMQPError, OSError, RuntimeError) as exc:
                if isinstance(exc, ConsumerError):
                    raise
                log.warning("connection to %s lost: %s", redact(url), exc)
            finally:
                self.ready.clear()
                with contextlib.suppress(Exception):
                    await connection.close()
            if not self._stop.is_set():
                await asyncio.sleep(backoff.next_delay())
        log.info("consumer %s stopped: %s", self.queue_name, self.counters)

    async def _session(self, connection: AbstractConnection, url: str) -> None:
        lost = asyncio.Event()
        connection.close_callbacks.add(lambda *_: lost.set())
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await self._declare(connection, channel)
        confirmed = await connection.channel(publisher_confirms=True)
        self._queues = await confirmed.get_exchange(QUEUE_EXCHANGE, ensure=False)
        tag = await queue.consume(self._inbox.put)
        log.info("consuming %s on %s (bindings %s, prefetch %d)",
                 self.queue_name, redact(url), ", ".join(self.bindings), self.prefetch)
        self.ready.set()
        workers = [asyncio.ensure_future(self._worker()) for _ in range(self.concurrency)]
        stopper = asyncio.ensure_future(self._stop.wait())
        closed = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({stopper, closed, *workers}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            closed.cancel()
        if self._stop.is_set() and not connection.is_closed:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
            await self._finish(workers)
            return
        if self.FINISH_ON_LOSS:
            await self._finish(workers)
        else:
            for w in workers:
                w.cancel()
        self._forget_inbox()
        for w in workers:
            if w.done() and not w.cancelled() and w.exception() is not None:
                raise w.exception()  # type: ignore[misc]
        raise ConnectionError("connection closed")

    async def _finish(self, workers: list[asyncio.Task[None]]) -> None:
        """After stop: let workers finish their message, put back the prefetched rest."""
        self._inbox.put_nowait(None)  # type: ignore[arg-type]  # wakes idle workers
        _done, pending = await asyncio.wait(workers, timeout=self.stop_timeout)
        for w in pending:
            w.cancel()
        while not self._inbox.empty():
            message = self._inbox.get_nowait()
            if message is not None:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)

    def _forget_inbox(self) -> None:
        # The channel is gone: its deliveries come back by themselves.
        while not self._inbox.empty():
            self._inbox.get_nowait()

    async def _declare(self, connection: AbstractConnection, channel: AbstractChannel
                       ) -> AbstractQueue:
        args = {"x-queue-type": self.queue_type}
        try:
            queue = await ensure_queue(connection, channel, self.queue_name, args)
            await queue_exchange(connection, channel)
            await own_queue(connection, channel, self.dead_letter_queue, args)
            for pattern in self.bindings:
                await queue.bind(self.exchange_name, routing_key=pattern)
        except aiormq.exceptions.ChannelClosed as exc:
            raise ConsumerError(
                f"cannot set up queue {self.queue_name!r}: {' '.join(str(exc).split())}"
            ) from exc
        return queue

    # -- one message ---------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            incoming = await self._inbox.get()
            if incoming is None or self._stop.is_set():
                if incoming is not None:
                    await incoming.nack(requeue=True)
                self._inbox.put_nowait(None)  # type: ignore[arg-type]  # wake the next one
                return
            await self._process(incoming)

    async def _process(self, incoming: AbstractIncomingMessage) -> None:
        message_id = incoming.message_id or ""
        self.counters["received"] += 1
        try:
            message = self.decode(incoming)
        except (ValidationError, Reject) as exc:
            await self._dead(incoming, str(exc))
            return
        if self.dedupe is not None and message_id and self.dedupe.seen(message_id):
            self.counters["duplicates"] += 1
            log.debug("duplicate %s (%s) skipped", message_id, incoming.routing_key)
            await incoming.ack()
            return
        try:
            with self.handler_seconds.time():
                if self._is_async:
                    await self.handler(message)  # type: ignore[misc]
                else:
                    await asyncio.to_thread(self.handler, message)
        except (Reject, ValidationError) as exc:
            await self._dead(incoming, f"{self.REJECTED}{exc}")
        except Exception as exc:
            await self._retry(incoming, exc)
        else:
            if self.dedupe is not None and message_id:
                self.dedupe.add(message_id)
            self._attempts.pop(message_id, None)
            await incoming.ack()
            self.counters["acked"] += 1

    async def _dead(self, incoming: AbstractIncomingMessage, reason: str) -> None:
        await dead_letter(self.queues_exchange, self.dead_letter_queue, incoming,
                          self.queue_name, reason)
        await incoming.ack()
        self.counters["dead"] += 1
        self._attempts.pop(incoming.message_id or "", None)
        log.error("message %s (%s) dead-lettered to %s: %s", incoming.message_id,
                  incoming.routing_key, self.dead_letter_queue, " ".join(reason.split()))

    async def _retry(self, incoming: AbstractIncomingMessage, exc: Exception) -> None:
        attempts = self.attempts(incoming)
        if isinstance(exc, Later):
            log.info("message %s (%s): %s; again in %.1fs", incoming.message_id,
                     incoming.routing_key, exc, exc.delay)
            await self.put_back(incoming, attempts, exc.delay)
            return
        attempts += 1
        what = "requeue requested" if isinstance(exc, Requeue) else f"{type(exc).__name__}"
        if self.max_attempts is not None and attempts >= self.max_attempts:
            await self._dead(incoming, f"gave up after {attempts} attempts: {what}: {exc}")
            return
        delay = min(self.max_backoff, self.initial_backoff * 2 ** (attempts - 1))
        log.warning("message %s (%s) failed (%s: %s), attempt %d; requeued in %.1fs",
                    incoming.message_id, incoming.routing_key, what, exc, attempts, delay,
                    exc_info=not isinstance(exc, Requeue))
        await self.put_back(incoming, attempts, delay)


class Consumer(BaseConsumer[Message]):
    """Consume ``queue`` (bound to ``bindings`` on ``amq.topic``) with ``handler``, which
    takes the bus's messages, validated against their schema."""

    def decode(self, incoming: AbstractIncomingMessage) -> Message:
        # a replayed message comes through fedbus.queues, its topic in a header
        topic = delivered_topic(
            incoming.routing_key or "", incoming.exchange or "", incoming.headers
        )
        return decode(topic, incoming.body, incoming)


async def serve(consumer: BaseConsumer[T]) -> None:
    """Run ``consumer`` until SIGTERM/SIGINT (then stop gracefully)."""
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, consumer.stop)
    await consumer.run()


__all__ = ["BaseConsumer", "Consumer", "Handler", "serve"]
