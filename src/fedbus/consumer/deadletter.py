"""Dead-lettering with the reason: a copy of the message goes to ``<queue>.dlq``.

The framework publishes the copy itself (on ``fedbus.queues``, never the default exchange:
see :mod:`.queues`; routing key = the dead-letter queue; publisher confirms) and acks the
original only once the copy is confirmed.  So it works whether or not the broker has the
``fedbus.dlx`` policy, and the copy carries why it failed, which a broker-side
``basic.reject`` cannot say:

- ``x-fedbus-reason``: one line (the ValidationError, or ``str()`` of the handler's Reject);
- ``x-fedbus-failed-at``: ISO 8601 UTC;
- ``x-fedbus-original-topic`` (the topic, also for a replayed message, whose routing key
  is its queue's name), ``x-fedbus-original-exchange``, ``x-fedbus-original-queue``.

Body and the other properties (message id, fedora-messaging headers) are kept as received.
"""

from __future__ import annotations

import time
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

REASON = "x-fedbus-reason"
FAILED_AT = "x-fedbus-failed-at"
ORIGINAL_TOPIC = "x-fedbus-original-topic"
ORIGINAL_EXCHANGE = "x-fedbus-original-exchange"
ORIGINAL_QUEUE = "x-fedbus-original-queue"
#: the topic of a message put back into its queue through ``fedbus.queues`` (replay.py)
TOPIC_HEADER = "x-fedbus-topic"
MAX_REASON = 1000


def one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def dead_copy(incoming: AbstractIncomingMessage, queue: str, reason: str) -> aio_pika.Message:
    """The message to put in the dead-letter queue for ``incoming``."""
    headers: dict[str, Any] = dict(incoming.headers or {})
    headers.update(
        {
            REASON: one_line(reason),
            FAILED_AT: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            ORIGINAL_TOPIC: headers.get(TOPIC_HEADER) or incoming.routing_key or "",
            ORIGINAL_EXCHANGE: incoming.exchange or "",
            ORIGINAL_QUEUE: queue,
        }
    )
    return aio_pika.Message(
        incoming.body,
        headers=headers,
        content_type=incoming.content_type,
        content_encoding=incoming.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=incoming.priority,
        message_id=incoming.message_id,
        timestamp=incoming.timestamp,
        app_id=incoming.app_id,
        type=incoming.type,
        user_id=None,  # the broker checks user_id against the login: do not copy it
        correlation_id=incoming.correlation_id,
    )


async def dead_letter(
    exchange: AbstractExchange,
    dead_letter_queue: str,
    incoming: AbstractIncomingMessage,
    queue: str,
    reason: str,
) -> None:
    """Publish the copy (confirmed) to ``dead_letter_queue``; the caller then acks."""
    await exchange.publish(dead_copy(incoming, queue, reason), dead_letter_queue, mandatory=True)
