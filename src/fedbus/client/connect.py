"""Connecting to one of several brokers: TLS options, exponential backoff, URL rotation."""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractConnection

from fedbus.client.errors import BrokerUnavailable
from fedbus.config import TlsConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsOptions:
    """TLS for ``amqps://`` URLs: CA bundle, optional client certificate (EXTERNAL auth)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    @classmethod
    def from_config(cls, tls: TlsConfig | None) -> TlsOptions | None:
        """The ``[amqp.tls]`` settings of fedbus.toml as options (None when there are none)."""
        if tls is None:
            return None
        return cls(
            ca_file=str(tls.ca_cert) if tls.ca_cert else None,
            cert_file=str(tls.cert) if tls.cert else None,
            key_file=str(tls.key) if tls.key else None,
            verify=tls.verify,
        )


class Backoff:
    """Exponential backoff with jitter: ``initial``, doubled each time, capped at ``maximum``."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def next_delay(self) -> float:
        delay = float(min(self.maximum, self.initial * (2.0**self.attempt)))
        self.attempt += 1
        return delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self.attempt = 0


def redact(url: str) -> str:
    """``url`` without its password, for logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urllib.parse.urlunsplit((parts.scheme, user + host, parts.path, "", ""))


async def connect_once(
    url: str, tls: TlsOptions | None = None, timeout: float = 10.0, name: str = "fedbus"
) -> AbstractConnection:
    """One connection attempt to ``url``."""
    ssl_context = tls.context() if tls is not None and url.startswith("amqps") else None
    parts = urllib.parse.urlsplit(url)
    if ssl_context is not None and tls is not None and tls.cert_file and not parts.username:
        # A client certificate and no user name: authenticate with the certificate.
        query = urllib.parse.parse_qs(parts.query)
        query.setdefault("auth", ["external"])
        url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, True)))
    return await aio_pika.connect(
        url,
        ssl_context=ssl_context,
        timeout=timeout,
        client_properties={"connection_name": name},
    )


async def connect_any(
    urls: Sequence[str],
    *,
    tls: TlsOptions | None = None,
    backoff: Backoff | None = None,
    deadline: float | None = None,
    name: str = "fedbus",
    attempt_timeout: float = 10.0,
) -> tuple[AbstractConnection, str]:
    """Try the URLs in turn, sleeping with backoff after each full round, until one answers.

    ``deadline`` is a ``loop.time()`` after which :class:`BrokerUnavailable` is raised
    (None: try for ever).  Returns the connection and the URL that worked.
    """
    if not urls:
        raise BrokerUnavailable("no broker URL configured")
    backoff = backoff or Backoff()
    loop = asyncio.get_running_loop()
    last: BaseException | None = None
    while True:
        for url in urls:
            try:
                connection = await connect_once(url, tls, attempt_timeout, name)
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
                last = exc
                log.debug("cannot connect to %s: %s", redact(url), exc)
                continue
            backoff.reset()
            return connection, url
        delay = backoff.next_delay()
        if deadline is not None and loop.time() + delay > deadline:
            where = ", ".join(redact(u) for u in urls)
            reason = " ".join(str(last).split()) or type(last).__name__
            raise BrokerUnavailable(f"cannot reach the broker ({where}): {reason}")
        log.warning(
            "no broker reachable (%s); retrying in %.1fs",
            " ".join(str(last).split()) or type(last).__name__,
            delay,
        )
        await asyncio.sleep(delay)
