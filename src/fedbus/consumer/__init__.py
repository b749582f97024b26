"""The consumer framework: durable queue, topic bindings, ack/requeue/dead-letter, dedupe.

- :class:`Consumer` and :func:`serve` (SIGTERM-aware);
- handler outcomes: return (ack), :class:`Requeue` (retry with backoff),
  :class:`Reject` / :class:`Drop` (dead-letter with the reason);
- :class:`Deduplicator` — processed message ids (LRU, optionally persistent in SQLite).
"""

from fedbus.consumer.consumer import Consumer, Handler, serve
from fedbus.consumer.dedupe import Deduplicator
from fedbus.consumer.errors import ConsumerError, Drop, Reject, Requeue

__all__ = [
    "Consumer",
    "ConsumerError",
    "Deduplicator",
    "Drop",
    "Handler",
    "Reject",
    "Requeue",
    "serve",
]
