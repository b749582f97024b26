"""A blocking facade over :class:`Publisher` for simple callers (scripts, the CLI).

The asyncio loop runs in a daemon thread; ``publish`` blocks until the broker confirmed.

>>> with SyncPublisher("amqps://bus.example.org/%2Fprod", tls=TlsOptions(ca_file=...)) as p:
...     p.publish(message)
...     p.publish_many(messages)     # pipelined; one result (None or exception) per message
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from fedora_messaging.message import Message

from fedbus.client.publisher import Publisher
from fedbus.message.envelope import Encoded

T = TypeVar("T")


class SyncPublisher:
    """Same arguments as :class:`Publisher`."""

    def __init__(self, urls: str | Sequence[str], **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fedbus-publisher", daemon=True
        )
        self._thread.start()
        self._publisher: Publisher = self._run(self._make(urls, kwargs))

    @staticmethod
    async def _make(urls: str | Sequence[str], kwargs: dict[str, Any]) -> Publisher:
        return Publisher(urls, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def connect(self) -> None:
        self._run(self._publisher.connect(self._deadline()))

    def _deadline(self) -> float | None:
        timeout = self._publisher.retry_timeout
        return None if timeout is None else self._loop.time() + timeout

    def publish(self, message: Message | Encoded, *, mandatory: bool | None = None) -> None:
        """Publish one message; returns when the broker confirmed it."""
        self._run(self._publisher.publish(message, mandatory=mandatory))

    def publish_many(
        self, messages: Iterable[Message | Encoded], *, mandatory: bool | None = None
    ) -> list[BaseException | None]:
        return self._run(self._publisher.publish_many(list(messages), mandatory=mandatory))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._publisher.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> SyncPublisher:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
