"""``fedbus relay``: forward the spool to the broker, in order, with confirms.

The loop keeps up to ``window`` messages in flight on one channel, in spool order, and
deletes a message from the spool only once the broker confirmed it.  A channel carries
messages in order, so the broker receives them in spool order; after a failure the relay
resends from the oldest unconfirmed message (a message whose confirm was lost is sent again:
at-least-once, consumers dedupe on ``message_id``).

Failures:

- connection lost → reconnect with backoff over the broker URLs (for ever), resend;
- the broker closes the channel (403 topic not allowed, 406 …) → every message that was in
  flight is retried alone, in order; the one refused again is *buried* (``dead/`` in the
  spool, with the reason, logged as an error) and the queue moves on;
- unroutable (no queue bound): by default the broker's answer for a topic nobody listens
  to, so it counts as delivered; ``on_unroutable="dead"`` buries it instead;
- ``basic.nack`` → the failed messages are resent one by one after a backoff; one nacked
  ``max_nacks`` times in all is buried with the reason and the queue moves on.  RabbitMQ
  nacks a message when one queue it routes to refuses it (``overflow: reject-publish``)
  although the other queues took it, and cannot say which: resending it for ever would
  deliver it to all of them again and again and hold up every message behind it.
  ``fedbus relay requeue-dead`` replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from fedbus.client.connect import Backoff, redact
from fedbus.client.errors import PublishNacked, PublishReturned
from fedbus.client.publisher import ChannelBroken, ConnectionLost, Publisher
from fedbus.message.envelope import AmqpProperties, Encoded
from fedbus.relay.spool import Spool, SpooledMessage

log = logging.getLogger("fedbus.relay")

T = TypeVar("T")
FLUSH_INTERVAL = 0.2  # seconds: longest a confirmed message stays in the spool
FLUSH_COUNT = 2000
CHECKPOINT_INTERVAL = 2.0
Unroutable = Literal["ignore", "dead"]


def to_encoded(message: SpooledMessage) -> Encoded:
    return Encoded(message.routing_key, message.body, AmqpProperties.from_dict(message.properties))


@dataclass
class RelayCounters:
    forwarded: int = 0
    buried: int = 0
    unroutable: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)


class Relay:
    """Drain ``spool`` through ``publisher`` until ``stop`` is set."""

    def __init__(
        self,
        spool: Spool,
        publisher: Publisher,
        *,
        window: int = 500,
        poll_interval: float = 0.05,
        on_unroutable: Unroutable = "ignore",
        status_interval: float = 60.0,
        max_nacks: int = 5,
    ) -> None:
        self.spool = spool
        self.publisher = publisher
        self.window = window
        self.poll_interval = poll_interval
        self.on_unroutable = on_unroutable
        self.status_interval = status_interval
        self.max_nacks = max_nacks
        self.counters = RelayCounters()
        self._mandatory = on_unroutable == "dead"
        self._cursor = 0  # highest spool id handed to the broker
        self._buffer: deque[SpooledMessage] = deque()
        self._inflight: deque[tuple[SpooledMessage, asyncio.Future[Any]]] = deque()
        self._confirmed: list[int] = []
        self._stop = asyncio.Event()
        self._nack_backoff = Backoff(0.2, 10.0)
        self._last_status = time.monotonic()
        self._last_forwarded = 0
        self._outage_backlog = 0
        self._outage_started = 0.0
        self._dirty = False
        self._first_confirm = 0.0
        self._last_checkpoint = 0.0

    def stop(self) -> None:
        """Finish what is in flight, then return from :meth:`run`."""
        self._stop.set()

    async def run(self) -> None:
        count, size = self.spool.totals()
        log.info("relay started: spool %s, backlog %d messages (%d bytes)",
                 self.spool.directory, count, size)
        try:
            while not self._stop.is_set():
                if not self.publisher.is_connected and not await self._connect():
                    break
                try:
                    await self._step()
                except (ConnectionLost, ChannelBroken) as exc:
                    await self._recover(exc)
                except Exception as exc:  # keep relaying whatever happens; say it loudly
                    log.exception("unexpected error, reconnecting: %s", exc)
                    await self._recover(ConnectionLost(str(exc)))
                    await self._until_stopped(asyncio.sleep(1.0))
                self._maybe_status()
        finally:
            await self._settle()
            self._flush()
            await self.publisher.close()
            count, size = self.spool.totals()
            log.info("relay stopped: %d forwarded, backlog %d messages",
                     self.counters.forwarded, count)

    async def _until_stopped(self, aw: Awaitable[T]) -> tuple[bool, T | None]:
        """Await ``aw`` unless ``stop`` comes first (then cancel it)."""
        task = asyncio.ensure_future(aw)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False, None

    async def _connect(self) -> bool:
        backlog = self.spool.totals()[0]
        if self.counters.reconnects:
            log.warning("broker unreachable; spooling (backlog %d messages)", backlog)
        done, _ = await self._until_stopped(self.publisher.connect(None))
        if not done:
            return False
        self.counters.reconnects += 1
        backlog = self.spool.totals()[0]
        log.info("forwarding to %s; backlog %d messages",
                 redact(self.publisher.connected_url or "?"), backlog)
        if backlog:
            self._outage_backlog = backlog
            self._outage_started = time.monotonic()
        return True

    # -- one turn of the loop ------------------------------------------------------------

    async def _fill(self) -> None:
        if len(self._inflight) >= self.window:
            return
        try:
            await self.publisher.ready()  # reopens the channel a refusal closed
        except ConnectionLost as exc:
            if not self._inflight:
                await self.publisher.connection_lost(exc)
            return
        while len(self._inflight) < self.window:
            if not self._buffer:
                self._buffer.extend(self.spool.peek(self._cursor, max(self.window, 200)))
                if not self._buffer:
                    return
            message = self._buffer[0]
            try:
                future = self.publisher.send_nowait(to_encoded(message), mandatory=self._mandatory)
            except (ConnectionLost, ChannelBroken):
                return  # the failure shows on the messages already in flight
            self._buffer.popleft()
            self._cursor = message.id
            self._inflight.append((message, future))

    def _result(self, message: SpooledMessage, future: asyncio.Future[Any]
                ) -> BaseException | None:
        if future.cancelled():
            return ConnectionLost("cancelled")
        exc = future.exception()
        return None if exc is None else self.publisher.outcome(exc, message.routing_key)

    async def _step(self) -> None:
        await self._fill()
        if not self._inflight:
            self._maybe_flush()
            if not self._confirmed:
                self._drained()
            await self._until_stopped(asyncio.sleep(self.poll_interval))
            return
        head = self._inflight[0][1]
        await asyncio.wait({head})
        failure: BaseException | None = None
        while self._inflight and self._inflight[0][1].done():
            message, task = self._inflight.popleft()
            exc = self._result(message, task)
            if exc is None:
                self._confirmed.append(message.id)
            elif isinstance(exc, PublishReturned):
                self._unroutable(message, exc)
            else:
                self._inflight.appendleft((message, task))
                failure = exc
                break
        if failure is not None:
            self._flush()
        else:
            self._maybe_flush()
        if failure is not None:
            await self._recover(failure)

    def _unroutable(self, message: SpooledMessage, exc: PublishReturned) -> None:
        self.counters.unroutable += 1
        if self.on_unroutable == "dead":
            self._bury(message, str(exc))
        else:
            self._confirmed.append(message.id)

    def _maybe_flush(self) -> None:
        # Deletes are batched (every FLUSH_INTERVAL or FLUSH_COUNT confirms): each one is a
        # write transaction, and the fewer the relay takes, the less a wedge's append waits
        # for the lock.  A crash before the delete only means those messages are sent again.
        if not self._confirmed:
            self._first_confirm = 0.0
            return
        now = time.monotonic()
        if not self._first_confirm:
            self._first_confirm = now
        if len(self._confirmed) >= FLUSH_COUNT or now - self._first_confirm >= FLUSH_INTERVAL:
            self._flush()

    def _flush(self) -> None:
        self._first_confirm = 0.0
        if self._confirmed:
            self.spool.delete(self._confirmed)
            self.counters.forwarded += len(self._confirmed)
            self._confirmed.clear()
            self._dirty = True

    def _bury(self, message: SpooledMessage, reason: str) -> None:
        path = self.spool.bury(message, reason)
        self.counters.buried += 1
        log.error("message %s (%s, spool id %d) moved to %s: %s",
                  message.properties.get("message_id"), message.routing_key,
                  message.id, path, reason)

    async def _settle(self) -> list[tuple[SpooledMessage, BaseException]]:
        """Wait for everything in flight; keep the confirmed, return the failed in order."""
        if self._inflight:
            await asyncio.wait({t for _, t in self._inflight})
        failed: list[tuple[SpooledMessage, BaseException]] = []
        for message, task in self._inflight:
            exc = self._result(message, task)
            if exc is None:
                self._confirmed.append(message.id)
            elif isinstance(exc, PublishReturned):
                self._unroutable(message, exc)
            else:
                failed.append((message, exc))
        self._inflight.clear()
        self._buffer.clear()
        return failed

    async def _recover(self, failure: BaseException) -> None:
        failed = await self._settle()
        self._flush()
        self._cursor = failed[0][0].id - 1 if failed else self._cursor
        if isinstance(failure, ChannelBroken):
            await self._careful([m for m, _ in failed])
        elif isinstance(failure, PublishNacked):
            await self._retry_nacked(failed)
        else:
            log.warning("connection lost with %d messages in flight: %s", len(failed), failure)
            await self.publisher.connection_lost(failure)

    async def _retry_nacked(self, failed: list[tuple[SpooledMessage, BaseException]]) -> None:
        """After a nack: the failed messages one by one, each resent (after a backoff) until
        confirmed or nacked ``max_nacks`` times in all, then set aside with the reason."""
        nacks = {m.id: 1 for m, exc in failed if isinstance(exc, PublishNacked)}
        for message, _exc in failed:
            while nacks.get(message.id, 0) < self.max_nacks:
                delay = self._nack_backoff.next_delay() if message.id in nacks else 0.0
                if delay:
                    log.warning("broker nacked %s (spool id %d); resending in %.1fs",
                                message.routing_key, message.id, delay)  # fmt: skip
                    slept, _ = await self._until_stopped(asyncio.sleep(delay))
                    if not slept:  # stopping: the cursor points before this message
                        return
                try:
                    await self.publisher.send(
                        to_encoded(message), mandatory=self._mandatory, careful=True
                    )
                except PublishNacked:
                    nacks[message.id] = nacks.get(message.id, 0) + 1
                    continue
                except PublishReturned as exc:
                    self._unroutable(message, exc)
                except ChannelBroken as exc:
                    self._bury(message, f"refused by the broker: {exc.code} {exc.text}")
                except ConnectionLost as exc:
                    self._flush()
                    await self.publisher.connection_lost(exc)
                    return
                else:
                    self._confirmed.append(message.id)
                break
            else:
                self._bury(message, f"nacked by the broker {nacks[message.id]} times: a queue "
                                    "it routes to refuses it (full?); other queues may have "
                                    "taken it")  # fmt: skip
            self._cursor = message.id
        self._nack_backoff.reset()
        self._flush()

    async def _careful(self, messages: list[SpooledMessage]) -> None:
        """Send ``messages`` one by one (after a channel closed) to find the refused ones."""
        for message in messages:
            try:
                await self.publisher.send(
                    to_encoded(message), mandatory=self._mandatory, careful=True
                )
            except ChannelBroken as exc:
                self._bury(message, f"refused by the broker: {exc.code} {exc.text}")
            except PublishReturned as exc:
                self._unroutable(message, exc)
            except (ConnectionLost, PublishNacked) as exc:
                self._flush()
                log.warning("resending from spool id %d: %s", message.id, exc)
                if isinstance(exc, ConnectionLost):
                    await self.publisher.connection_lost(exc)
                return  # the cursor already points before this message
            else:
                self._confirmed.append(message.id)
            self._cursor = message.id
        self._flush()

    # -- logs for 3 am -------------------------------------------------------------------

    def _drained(self) -> None:
        if self._outage_backlog:
            took = max(time.monotonic() - self._outage_started, 1e-6)
            log.info("backlog drained: %d messages in %.1fs (%.0f msg/s)",
                     self._outage_backlog, took, self._outage_backlog / took)
            self._outage_backlog = 0
        now = time.monotonic()
        if self._dirty and now - self._last_checkpoint >= CHECKPOINT_INTERVAL:
            self.spool.checkpoint()
            self._dirty = False
            self._last_checkpoint = now

    def _maybe_status(self) -> None:
        now = time.monotonic()
        if now - self._last_status < self.status_interval:
            return
        done = self.counters.forwarded - self._last_forwarded
        rate = done / (now - self._last_status)
        stats = self.spool.stats()
        if done or stats.count:
            log.info("backlog %d messages (%d bytes, oldest %.0fs), forwarded %d (%.0f msg/s), "
                     "dead %d", stats.count, stats.bytes, stats.oldest_age, done, rate, stats.dead)
        self._last_status, self._last_forwarded = now, self.counters.forwarded
