"""What a handler raises to say what to do with the message it could not handle."""

from __future__ import annotations

from fedbus.errors import FedbusError


class Requeue(Exception):
    """Transient failure: put the message back and try again later (with backoff)."""


class Reject(Exception):
    """Permanent failure: the message goes to the dead-letter queue with ``str(exc)``."""


class Drop(Reject):
    """Same as :class:`Reject` (fedora-messaging's name); the message is dead-lettered,
    never silently discarded."""


class ConsumerError(FedbusError):
    """The consumer cannot run (queue declaration refused, bad binding, …)."""
