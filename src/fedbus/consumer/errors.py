"""What a handler raises to say what to do with the message it could not handle."""

from __future__ import annotations

from fedbus.errors import FedbusError


class Requeue(Exception):
    """Transient failure: put the message back and try again later (with backoff)."""


class Later(Exception):
    """Not a failure: the message cannot be handled yet (a rate limit); put it back after
    ``delay`` seconds without counting an attempt."""

    def __init__(self, message: str, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


class Reject(Exception):
    """Permanent failure: the message goes to the dead-letter queue with ``str(exc)``."""


class Drop(Reject):
    """Same as :class:`Reject` (fedora-messaging's name); the message is dead-lettered,
    never silently discarded."""


class ConsumerError(FedbusError):
    """The consumer cannot run (queue declaration refused, bad binding, …)."""
