"""Token buckets per destination and per user: a flood is delayed, never lost.

:meth:`Limits.take` takes one token from each bucket of the job (all or none); when one
is empty it raises :class:`~fedbus.consumer.errors.Later` with the time until a token is
there, and the job consumer puts the job back after that delay without counting an
attempt.  The buckets live in the sender process (one process per kind); full buckets are
forgotten once there are more than :data:`MAX_BUCKETS`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fedbus.consumer.errors import Later
from fedbus.notifier.jobs import Job

MAX_BUCKETS = 10_000
MAX_DELAY = 60.0


@dataclass(frozen=True)
class Rate:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    what: str  # "destination" | "user"
    rate: float
    burst: int


class Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens, self.at = tokens, at

    def refill(self, rate: Rate, now: float) -> None:
        self.tokens = min(float(rate.burst), self.tokens + (now - self.at) * rate.rate)
        self.at = now


class Limits:
    def __init__(self, rates: list[Rate], clock: Callable[[], float] = time.monotonic) -> None:
        self.rates = rates
        self.clock = clock
        self._buckets: dict[tuple[str, int], Bucket] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(rate: Rate, job: Job) -> tuple[str, int]:
        return rate.what, job.destination_id if rate.what == "destination" else job.user_id

    def wait(self, job: Job) -> float:
        """Take the job's tokens and return 0, or return the seconds until they are there."""
        with self._lock:
            now = self.clock()
            buckets = []
            for rate in self.rates:
                bucket = self._buckets.setdefault(self._key(rate, job), Bucket(rate.burst, now))
                bucket.refill(rate, now)
                buckets.append((rate, bucket))
            short = [(1.0 - b.tokens) / r.rate for r, b in buckets if b.tokens < 1.0]
            if short:
                return min(MAX_DELAY, max(short))
            for _rate, bucket in buckets:
                bucket.tokens -= 1.0
            if len(self._buckets) > MAX_BUCKETS:
                self._forget(now)
            return 0.0

    def take(self, job: Job) -> None:
        delay = self.wait(job)
        if delay > 0:
            raise Later(f"rate limit of {job.kind} destination {job.destination_id} "
                        f"or user {job.user_id}", max(0.2, delay))  # fmt: skip

    def _forget(self, now: float) -> None:
        by_what = {r.what: r for r in self.rates}
        for key, bucket in list(self._buckets.items()):
            bucket.refill(by_what[key[0]], now)
            if bucket.tokens >= by_what[key[0]].burst:
                del self._buckets[key]
