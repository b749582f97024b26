"""The mirror events the broker keeps: read a window of the stream ``fedbus.mirror.events``.

roles/broker declares the stream (a RabbitMQ stream queue, ``x-max-age`` a week by default)
and binds it to the master's and the agents' topics.  A stream is read without being
consumed away: each reader starts at an offset — here the time ``since`` — and the messages
stay for the next reader.  Every message is decoded and validated like any consumer's;
one that does not validate is skipped (it is not a mirror event anyone can trust).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import pika.exceptions

from fedbus.client.blocking import amqp_reason, connected
from fedbus.config import AmqpConfig
from fedbus.errors import FedbusError, ValidationError
from fedbus.message.envelope import decode

log = logging.getLogger(__name__)


def read_stream(amqp: AmqpConfig, urls: tuple[str, ...] | None, stream: str, *,
                since: dt.datetime, idle: float = 1.0,
                limit: int = 1_000_000) -> list[tuple[str, Mapping[str, Any]]]:
    """``(topic, body)`` of every valid message of ``stream`` from ``since`` on, oldest
    first: read until the stream has been quiet for ``idle`` seconds (it has no end marker),
    at most ``limit`` messages.  A one-line :class:`FedbusError` when it cannot be read."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    with connected(amqp, urls, "fedbus-freshness") as conn:
        channel = conn.channel()
        try:
            channel.queue_declare(stream, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise FedbusError(f"stream {stream}: {amqp_reason(exc)}") from exc
        channel.basic_qos(prefetch_count=500)  # a stream consumer must set one
        skipped = 0
        deliveries = channel.consume(stream, arguments={"x-stream-offset": since},
                                     inactivity_timeout=idle)
        for method, properties, body in deliveries:
            if method is None:
                break
            channel.basic_ack(method.delivery_tag)
            try:
                message = decode(method.routing_key, body, properties)
            except ValidationError as exc:
                skipped += 1
                log.debug("skipped %s: %s", method.routing_key, exc)
                continue
            out.append((message.topic, message.body))
            if len(out) >= limit:
                break
        channel.cancel()
        if skipped:
            log.warning("%s: skipped %d messages that do not validate", stream, skipped)
    return out
