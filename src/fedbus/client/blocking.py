"""Blocking AMQP (pika): connection parameters from fedbus.toml, one-line errors.

fedbus speaks AMQP with two libraries, each where the other does not fit:

- **aio-pika** (:mod:`fedbus.client.connect`, :mod:`.publisher`, :mod:`fedbus.consumer`)
  for every long-running asyncio service: the relay, the consumer framework (mirror agent,
  notifier worker, senders, digests) and :class:`~fedbus.client.SyncPublisher` (the same
  publisher behind a blocking API).  New code uses it.
- **pika** (this module) where the caller is synchronous and has no event loop to run:
  the notifier web process publishing a verification job inside a WSGI request
  (:mod:`fedbus.notifier.verify`), ``fedbus tail`` (a short-lived CLI iterating a blocking
  consume), and the bridge (:mod:`fedbus.bridge.service`, a blocking consume-translate-
  publish loop on threads).  pika cannot go in any case: fedora-messaging, whose
  :class:`~fedora_messaging.message.Message` every fedbus message is, depends on it and
  keeps its AMQP properties as ``pika.BasicProperties`` (:mod:`fedbus.message.envelope`).

TLS comes from the same ``[amqp.tls]`` settings for both, through
:meth:`fedbus.client.connect.TlsOptions.from_config`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
import urllib.parse
from collections.abc import Iterator

import pika
import pika.exceptions

from fedbus.client.connect import TlsOptions
from fedbus.config import AmqpConfig, TlsConfig
from fedbus.errors import ConfigError, FedbusError


def _ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """A client TLS context from the ``[amqp.tls]`` settings; a ConfigError of one line when
    the client certificate cannot be loaded."""
    options = TlsOptions.from_config(tls)
    assert options is not None
    try:
        return options.context()
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"amqp.tls.cert/key: cannot load {tls.cert}: {exc}") from exc


def pika_parameters(
    amqp: AmqpConfig, urls: tuple[str, ...] | None = None, connection_name: str | None = None
) -> list[pika.ConnectionParameters]:
    """pika connection parameters for each URL (failover order); TLS from ``[amqp.tls]``."""
    out: list[pika.ConnectionParameters] = []
    for url in urls or amqp.effective_urls():
        params = pika.URLParameters(url)
        params.heartbeat = amqp.heartbeat
        if amqp.tls is not None and url.startswith("amqps://"):
            host = urllib.parse.urlsplit(url).hostname or ""
            params.ssl_options = pika.SSLOptions(_ssl_context(amqp.tls), host)
            if amqp.tls.cert and not urllib.parse.urlsplit(url).username:
                params.credentials = pika.credentials.ExternalCredentials()
        if connection_name:
            params.client_properties = {"connection_name": connection_name}
        out.append(params)
    return out


def amqp_reason(exc: BaseException) -> str:
    """A pika connection error as a short reason (``403 ACCESS_REFUSED - Login was refused…``,
    ``Connection refused``)."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    text = " ".join(repr(a) if isinstance(a, BaseException) else str(a) for a in exc.args)
    text = text or type(exc).__name__
    closed = re.search(r"\((\d+)\) '([^']*)'", text)
    if closed:
        return f"{closed.group(1)} {closed.group(2)}"
    oserror = re.search(r"\w+Error\((?:\d+, )?'([^']*)'\)", text)
    return oserror.group(1) if oserror else text


def quiet_pika(verbose: bool = False) -> None:
    """pika logs every failed connection attempt with a traceback; fedbus says it in one line."""
    logging.getLogger("pika").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


@contextlib.contextmanager
def connected(
    amqp: AmqpConfig, urls: tuple[str, ...] | None, program: str
) -> Iterator[pika.BlockingConnection]:
    """A blocking connection for a short-lived command, named ``<program> <host> <pid>`` on
    the broker, closed on the way out; a one-line :class:`FedbusError` when no URL answers
    or the broker closes it."""
    name = f"{program} {socket.gethostname()} {os.getpid()}"
    try:
        conn = pika.BlockingConnection(pika_parameters(amqp, urls, name))
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise FedbusError(f"cannot connect to the broker: {amqp_reason(exc)}") from exc
    try:
        yield conn
    except pika.exceptions.AMQPError as exc:
        raise FedbusError(f"broker: {amqp_reason(exc)}") from exc
    finally:
        if conn.is_open:
            conn.close()
