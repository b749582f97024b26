"""Confirmed, pipelined publishing to ``amq.topic``.

``await publisher.publish(x)`` returns only once the broker confirmed the message; many
publishes may be in flight at once (up to ``window``), so throughput is that of the
pipeline, not of one round trip per message.

Failures, per message:

- unroutable with ``mandatory=True`` → :class:`PublishReturned`;
- ``basic.nack`` → :class:`PublishNacked`;
- the broker closes the channel (403 ACCESS_REFUSED for a topic the user may not write,
  406, …) → :class:`PublishRefused`.  The broker closes the *channel*, which fails every
  message in flight on it, so each failed message is retried alone on a separate "careful"
  channel: only the guilty one raises;
- the connection drops → reconnect (backoff, next URL) and publish again until
  ``retry_timeout``; then :class:`BrokerUnavailable`.  A confirm lost with the connection
  means the message may have arrived: retries give at-least-once delivery (consumers dedupe
  on ``message_id``).

:meth:`Publisher.send_nowait` / :meth:`Publisher.send` are the lower layer (one attempt, no
retry) the relay builds on.  Frames of messages published during one event-loop turn are
written together (see :mod:`fedbus.client.pipeline`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection
from fedora_messaging.message import Message

from fedbus.client.connect import Backoff, TlsOptions, connect_any, redact
from fedbus.client.errors import BrokerUnavailable, PublishNacked, PublishRefused, PublishReturned
from fedbus.client.pipeline import Pipeline
from fedbus.message.envelope import Encoded, encode

log = logging.getLogger(__name__)

EXCHANGE = "amq.topic"
DEFAULT_WINDOW = 500

_CHANNEL_CODES: dict[type[Exception], int] = {
    aiormq.exceptions.ChannelAccessRefused: 403,
    aiormq.exceptions.ChannelNotFoundEntity: 404,
    aiormq.exceptions.ChannelLockedResource: 405,
    aiormq.exceptions.ChannelPreconditionFailed: 406,
}


class ChannelBroken(Exception):
    """Internal: the broker closed the channel while this message was in flight."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(code, text)
        self.code = code
        self.text = text


class ConnectionLost(Exception):
    """Internal: the connection failed while this message was in flight."""


def classify(exc: BaseException, routing_key: str, connected: bool) -> BaseException:
    """The fedbus view of a failed publish: PublishReturned, PublishNacked (final), or the
    internal ChannelBroken / ConnectionLost (the caller retries)."""
    if isinstance(exc, aiormq.exceptions.PublishError):
        frame: Any = getattr(exc, "frame", None)
        return PublishReturned(
            routing_key,
            int(getattr(frame, "reply_code", 312) or 312),
            str(getattr(frame, "reply_text", "NO_ROUTE") or "NO_ROUTE"),
        )
    if isinstance(exc, aiormq.exceptions.DeliveryError):
        return PublishNacked(routing_key)
    if isinstance(exc, aiormq.exceptions.ChannelClosed) and connected:
        return ChannelBroken(*_channel_code(exc))
    if isinstance(exc, ChannelBroken | ConnectionLost):
        return exc
    return ConnectionLost(" ".join(str(exc).split()) or type(exc).__name__)


def _channel_code(exc: BaseException) -> tuple[int, str]:
    for cls, code in _CHANNEL_CODES.items():
        if isinstance(exc, cls):
            return code, str(exc.args[0]) if exc.args else cls.__name__
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return 0, str(exc)


class Publisher:
    """An AMQP publisher on ``amq.topic`` with confirms, over a list of broker URLs."""

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        window: int = DEFAULT_WINDOW,
        tls: TlsOptions | None = None,
        exchange: str = EXCHANGE,
        mandatory: bool = False,
        retry_timeout: float | None = 60.0,
        backoff: Backoff | None = None,
        name: str = "fedbus-publisher",
    ) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.window = window
        self.tls = tls
        self.exchange_name = exchange
        self.mandatory = mandatory
        self.retry_timeout = retry_timeout
        self.backoff = backoff or Backoff()
        self.name = name
        self.connected_url: str | None = None
        self._connection: AbstractConnection | None = None
        self._channels: list[AbstractChannel] = []
        self._pipe: Pipeline | None = None
        self._careful_pipe: Pipeline | None = None
        self._slots = asyncio.Semaphore(window)
        self._reconnect_lock = asyncio.Lock()
        self._careful_lock = asyncio.Lock()
        self._closed = False
        self._generation = 0
        self._channel_number = 0

    # -- connection ----------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self, deadline: float | None = None) -> None:
        """Connect (or reconnect) now; raises :class:`BrokerUnavailable` past ``deadline``."""
        async with self._reconnect_lock:
            if self.is_connected and self._pipe is not None:
                return
            await self._drop()
            connection, url = await connect_any(
                self.urls, tls=self.tls, backoff=self.backoff, deadline=deadline, name=self.name
            )
            self._connection, self.connected_url = connection, url
            self._channel_number = 0
            self._pipe = await self._open_pipe()
            self._careful_pipe = None
            self._generation += 1
            log.info("connected to %s", redact(url))

    async def _open_pipe(self) -> Pipeline:
        # A fresh channel number each time: a number the broker just closed (a refusal) is
        # never reused, so a late frame for the old channel cannot be taken for the new one.
        if self._connection is None or self._connection.is_closed:
            raise ConnectionLost("not connected")
        self._channel_number = self._channel_number % 2000 + 1
        try:
            channel = await self._connection.channel(
                self._channel_number, publisher_confirms=True, on_return_raises=True
            )
            self._channels = [c for c in self._channels if not c.is_closed] + [channel]
            return Pipeline(await channel.get_underlay_channel(), self.exchange_name)
        except (aiormq.exceptions.AMQPError, OSError, RuntimeError) as exc:
            raise ConnectionLost(" ".join(str(exc).split()) or type(exc).__name__) from exc

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._pipe = self._careful_pipe = None
        self._channels = []
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(Exception):  # best effort on a dying connection
                await connection.close()

    async def ready(self) -> None:
        """Make sure the publishing channel is open (reopened after a refusal closed it);
        raises ConnectionLost when there is no connection."""
        if not self.is_connected or self._pipe is None:
            raise ConnectionLost("not connected")
        if self._pipe.is_closed:
            async with self._reconnect_lock:
                if self._pipe is not None and self._pipe.is_closed:
                    self._pipe = await self._open_pipe()

    async def _careful(self) -> Pipeline:
        if self._careful_pipe is None or self._careful_pipe.is_closed:
            self._careful_pipe = await self._open_pipe()
        return self._careful_pipe

    async def close(self) -> None:
        self._closed = True
        await self._drop()

    async def __aenter__(self) -> Publisher:
        await self.connect(self._deadline())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _deadline(self) -> float | None:
        if self.retry_timeout is None:
            return None
        return asyncio.get_running_loop().time() + self.retry_timeout

    # -- one attempt ---------------------------------------------------------------------

    def send_nowait(self, encoded: Encoded, *, mandatory: bool | None = None
                    ) -> asyncio.Future[Any]:
        """Queue one attempt on the publishing channel (call :meth:`ready` first).  The
        future fails with aiormq's exceptions; :meth:`outcome` turns them into fedbus's."""
        if self._pipe is None:
            raise ConnectionLost("not connected")
        try:
            return self._pipe.publish(encoded, self.mandatory if mandatory is None else mandatory)
        except aiormq.exceptions.AMQPError as exc:
            raise self.outcome(exc, encoded.routing_key) from None

    def outcome(self, exc: BaseException, routing_key: str) -> BaseException:
        """See :func:`classify`."""
        return classify(exc, routing_key, self.is_connected)

    async def send(
        self, encoded: Encoded, *, mandatory: bool | None = None, careful: bool = False
    ) -> None:
        """One attempt, no retry.  Raises PublishReturned / PublishNacked, or the internal
        :class:`ChannelBroken` / :class:`ConnectionLost` for the caller to handle."""
        mandatory = self.mandatory if mandatory is None else mandatory
        try:
            if careful:
                await (await self._careful()).publish(encoded, mandatory)
            else:
                await self.ready()
                await self.send_nowait(encoded, mandatory=mandatory)
        except (aiormq.exceptions.AMQPError, OSError, RuntimeError, ChannelBroken,
                ConnectionLost) as exc:
            raise self.outcome(exc, encoded.routing_key) from None

    # -- the public API ------------------------------------------------------------------

    async def publish(self, message: Message | Encoded, *, mandatory: bool | None = None) -> None:
        """Publish and wait for the broker's confirm (see the module docstring for errors)."""
        encoded = message if isinstance(message, Encoded) else encode(message)
        deadline: float | None = None
        async with self._slots:
            while True:
                if self._closed:
                    raise BrokerUnavailable("the publisher is closed")
                if not self.is_connected:
                    deadline = deadline or self._deadline()
                    await self.connect(deadline)
                generation = self._generation
                try:
                    try:
                        await self.send(encoded, mandatory=mandatory)
                        return
                    except ChannelBroken:
                        pass
                    # The channel closed under this message: retry it alone to learn
                    # whether it is the one the broker refused.
                    async with self._careful_lock:
                        try:
                            await self.send(encoded, mandatory=mandatory, careful=True)
                            return
                        except ChannelBroken as exc:
                            raise PublishRefused(
                                encoded.routing_key, exc.code, exc.text
                            ) from None
                except ConnectionLost as exc:
                    deadline = deadline or self._deadline()
                    await self._lost(generation, exc)
                    if deadline is not None and asyncio.get_running_loop().time() > deadline:
                        raise BrokerUnavailable(f"connection to the broker lost: {exc}") from None

    async def connection_lost(self, exc: BaseException) -> None:
        """Tell the publisher its current connection failed (the relay calls this)."""
        await self._lost(self._generation, exc)

    async def _lost(self, generation: int, exc: BaseException) -> None:
        """Forget the connection ``generation`` (once, whoever notices first)."""
        async with self._reconnect_lock:
            if generation != self._generation or self._connection is None:
                return
            log.warning("connection to %s lost: %s", redact(self.connected_url or "?"), exc)
            await self._drop()

    async def publish_many(
        self, messages: Iterable[Message | Encoded], *, mandatory: bool | None = None
    ) -> list[BaseException | None]:
        """Publish all (pipelined, ``window`` in flight); one result per message, in order:
        None when confirmed, else the exception.

        Fast path: every message goes out on the publishing channel without a task of its
        own; those caught by a channel or connection failure then go through
        :meth:`publish` (careful retry, reconnection) one by one.
        """
        encoded = [m if isinstance(m, Encoded) else encode(m) for m in messages]
        results: list[BaseException | None] = [None] * len(encoded)
        retry: list[int] = []
        inflight: deque[tuple[int, asyncio.Future[Any]]] = deque()

        def settle(i: int, future: asyncio.Future[Any]) -> None:
            exc = future.exception() if not future.cancelled() else ConnectionLost("cancelled")
            if exc is None:
                return
            mapped = self.outcome(exc, encoded[i].routing_key)
            if isinstance(mapped, PublishReturned | PublishNacked):
                results[i] = mapped
            else:
                retry.append(i)

        try:
            if not self.is_connected:
                await self.connect(self._deadline())
            await self.ready()
        except (ConnectionLost, BrokerUnavailable):
            retry = list(range(len(encoded)))
        else:
            for i, e in enumerate(encoded):
                while len(inflight) >= self.window:
                    await asyncio.wait({inflight[0][1]})
                    while inflight and inflight[0][1].done():
                        settle(*inflight.popleft())
                try:
                    inflight.append((i, self.send_nowait(e, mandatory=mandatory)))
                except (ConnectionLost, ChannelBroken):
                    retry.append(i)
            if inflight:
                await asyncio.wait({f for _, f in inflight})
            for item in inflight:
                settle(*item)
        if retry:
            retry.sort()
            again = await asyncio.gather(
                *(self.publish(encoded[i], mandatory=mandatory) for i in retry),
                return_exceptions=True,
            )
            for i, r in zip(retry, again, strict=True):
                results[i] = r if isinstance(r, BaseException) else None
        return results
