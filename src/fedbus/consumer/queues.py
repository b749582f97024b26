"""A component's own queues, and the one exchange that reaches them by name.

No account may write to the default exchange: RabbitMQ checks a publish there against
``amq.default`` alone (topic permissions do not apply), so whoever may write it may put a
message in *any* queue of the vhost.  A component that must put a message in a queue of
its own (a dead letter in ``<queue>.dlq``, a notifier job in ``notifier.email``, a job
back at the tail of its queue) publishes it to ``fedbus.queues`` instead: a topic exchange
where each queue is bound under its own name.  Its topic permissions (from the accounts
table, ``plugins/filter/bus_accounts.py``) let each account write and bind only the names
of the queues it owns, so the broker itself refuses anything else.

The broker role declares the exchange and the bindings of the queues it knows; a
component declares (passively first) and binds the queues it creates itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

import aiormq
from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

from fedbus.consumer.errors import ConsumerError

QUEUE_EXCHANGE = "fedbus.queues"


async def ensure_queue(
    connection: AbstractConnection,
    channel: AbstractChannel,
    name: str,
    arguments: dict[str, Any] | None = None,
) -> AbstractQueue:
    """The durable queue ``name``: passively if it exists (the broker role may have made it a
    quorum queue), else declared with ``arguments``."""
    probe = await connection.channel()
    try:
        await probe.declare_queue(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return await channel.declare_queue(name, durable=True, arguments=arguments)
    finally:
        with contextlib.suppress(Exception):
            await probe.close()
    return await channel.declare_queue(name, passive=True)


async def queue_exchange(
    connection: AbstractConnection, channel: AbstractChannel
) -> AbstractExchange:
    """``fedbus.queues`` on ``channel``; declared if missing and this login may (a test
    broker), otherwise a :class:`ConsumerError` that says who declares it."""
    probe = await connection.channel()
    try:
        await probe.declare_exchange(QUEUE_EXCHANGE, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        try:
            return await channel.declare_exchange(
                QUEUE_EXCHANGE, ExchangeType.TOPIC, durable=True
            )
        except aiormq.exceptions.ChannelAccessRefused as exc:
            raise ConsumerError(
                f"exchange {QUEUE_EXCHANGE!r} is missing and this account may not declare it"
                " (roles/broker declares it)"
            ) from exc
    finally:
        with contextlib.suppress(Exception):
            await probe.close()
    return await channel.get_exchange(QUEUE_EXCHANGE, ensure=False)


async def own_queue(
    connection: AbstractConnection,
    channel: AbstractChannel,
    name: str,
    arguments: dict[str, Any] | None = None,
) -> AbstractQueue:
    """:func:`ensure_queue`, then bind it to ``fedbus.queues`` under its own name."""
    queue = await ensure_queue(connection, channel, name, arguments)
    await queue.bind(QUEUE_EXCHANGE, routing_key=name)
    return queue
