"""The consumer framework: durable queue, topic bindings, ack/requeue/dead-letter, dedupe.

- :class:`Consumer` and :func:`serve` (SIGTERM-aware);
- handler outcomes: return (ack), :class:`Requeue` (retry with backoff), :class:`Later`
  (again after a delay, no attempt counted),
  :class:`Reject` / :class:`Drop` (dead-letter with the reason);
- :class:`Deduplicator` — processed message ids (LRU, optionally persistent in SQLite).
"""

from fedbus.consumer.consumer import BaseConsumer, Consumer, Handler, serve
from fedbus.consumer.dedupe import Deduplicator
from fedbus.consumer.errors import ConsumerError, Drop, Later, Reject, Requeue

__all__ = [
    "BaseConsumer",
    "Consumer",
    "ConsumerError",
    "Deduplicator",
    "Drop",
    "Handler",
    "Later",
    "Reject",
    "Requeue",
    "serve",
]
