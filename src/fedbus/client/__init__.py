"""Confirmed publishing to the broker (AMQP 0-9-1, ``amq.topic``).

- :class:`Publisher` — asyncio, pipelined confirms (``window`` in flight), reconnects;
- :class:`SyncPublisher` — the same behind a blocking API;
- errors: :class:`PublishReturned`, :class:`PublishNacked`, :class:`PublishRefused`,
  :class:`BrokerUnavailable` (all :class:`fedbus.errors.PublishError`).
"""

from fedbus.client.connect import Backoff, TlsOptions
from fedbus.client.errors import BrokerUnavailable, PublishNacked, PublishRefused, PublishReturned
from fedbus.client.publisher import Publisher
from fedbus.client.sync import SyncPublisher

__all__ = [
    "Backoff",
    "BrokerUnavailable",
    "PublishNacked",
    "PublishRefused",
    "PublishReturned",
    "Publisher",
    "SyncPublisher",
    "TlsOptions",
]
