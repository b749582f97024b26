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

:meth:`Publisher.send` is the lower layer (one attempt, no retry) the relay builds on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from fedora_messaging.message import Message

from fedbus.client.connect import Backoff, TlsOptions, connect_any, redact
from fedbus.client.errors import BrokerUnavailable, PublishNacked, PublishRefused, PublishReturned
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


def to_amqp(encoded: Encoded) -> aio_pika.Message:
    """The aio-pika message for ``encoded`` (properties exactly as encoded)."""
    p = encoded.properties
    message = aio_pika.Message(
        encoded.body,
        content_type=p.content_type,
        content_encoding=p.content_encoding,
        delivery_mode=aio_pika.DeliveryMode(p.delivery_mode),
        message_id=p.message_id or None,
        headers=dict(p.headers),
    )
    message.priority = p.priority  # type: ignore[assignment]  # aio-pika turns None into 0
    return message


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
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._careful_exchange: AbstractExchange | None = None
        self._careful_channel: AbstractChannel | None = None
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
            if self.is_connected and self._exchange is not None:
                return
            await self._drop()
            connection, url = await connect_any(
                self.urls, tls=self.tls, backoff=self.backoff, deadline=deadline, name=self.name
            )
            self._connection, self.connected_url = connection, url
            self._channel_number = 0
            channel = self._channel = await self._open_channel()
            self._exchange = await channel.get_exchange(self.exchange_name, ensure=False)
            self._careful_exchange = None
            self._generation += 1
            log.info("connected to %s", redact(url))

    async def _open_channel(self) -> AbstractChannel:
        # A fresh channel number each time: a number the broker just closed (a refusal) is
        # never reused, so a late frame for the old channel cannot be taken for the new one.
        assert self._connection is not None
        self._channel_number = self._channel_number % 2000 + 1
        return await self._connection.channel(
            self._channel_number, publisher_confirms=True, on_return_raises=True
        )

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._exchange = self._careful_exchange = None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(Exception):  # best effort on a dying connection
                await connection.close()

    async def _main_exchange(self) -> AbstractExchange:
        if not self.is_connected or self._exchange is None:
            raise ConnectionLost("not connected")
        if self._channel is not None and self._channel.is_closed:
            # The broker closed the channel (a refusal): open a fresh one.
            async with self._reconnect_lock:
                if self._channel is not None and self._channel.is_closed:
                    assert self._connection is not None
                    self._channel = await self._open_channel()
                    self._exchange = await self._channel.get_exchange(
                        self.exchange_name, ensure=False
                    )
        assert self._exchange is not None
        return self._exchange

    async def _careful(self) -> AbstractExchange:
        exchange, channel = self._careful_exchange, self._careful_channel
        if exchange is None or channel is None or channel.is_closed:
            if not self.is_connected or self._connection is None:
                raise ConnectionLost("not connected")
            channel = await self._open_channel()
            exchange = await channel.get_exchange(self.exchange_name, ensure=False)
            self._careful_exchange, self._careful_channel = exchange, channel
        return exchange

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

    async def send(
        self, encoded: Encoded, *, mandatory: bool | None = None, careful: bool = False
    ) -> None:
        """One attempt, no retry.  Raises PublishReturned / PublishNacked, or the internal
        :class:`ChannelBroken` / :class:`ConnectionLost` for the caller to handle."""
        mandatory = self.mandatory if mandatory is None else mandatory
        try:
            exchange = await (self._careful() if careful else self._main_exchange())
            await exchange.publish(to_amqp(encoded), encoded.routing_key, mandatory=mandatory)
        except aiormq.exceptions.PublishError as exc:
            frame: Any = getattr(exc, "frame", None)
            raise PublishReturned(
                encoded.routing_key,
                int(getattr(frame, "reply_code", 312) or 312),
                str(getattr(frame, "reply_text", "NO_ROUTE") or "NO_ROUTE"),
            ) from None
        except aiormq.exceptions.DeliveryError:
            raise PublishNacked(encoded.routing_key) from None
        except aiormq.exceptions.ChannelClosed as exc:
            if self._connection is None or self._connection.is_closed:
                raise ConnectionLost(str(exc)) from exc
            raise ChannelBroken(*_channel_code(exc)) from exc
        except (ConnectionLost, ChannelBroken):
            raise
        except (aiormq.exceptions.AMQPError, OSError, RuntimeError) as exc:
            raise ConnectionLost(" ".join(str(exc).split()) or type(exc).__name__) from exc

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
        None when confirmed, else the exception."""
        tasks = [
            asyncio.ensure_future(self.publish(m, mandatory=mandatory)) for m in messages
        ]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]
