"""The consumer framework's metrics: every running consumer, by queue.

=========================================  =========  =======================================
``fedbus_consumer_received_total``         counter    messages taken from the queue
``fedbus_consumer_acked_total``            counter    handled and acknowledged
``fedbus_consumer_duplicates_total``       counter    skipped: already handled (dedupe)
``fedbus_consumer_dead_total``             counter    dead-lettered to ``<queue>.dlq``
``fedbus_consumer_requeued_total``         counter    put back to be tried again later
``fedbus_handler_<name>_total``            counter    the handler's own counts (its object's
                                                      ``counters``: the notifier worker's
                                                      ``jobs``, a sender's ``sent``…)
``fedbus_consumer_handler_seconds``        histogram  time the handler took per message
=========================================  =========  =======================================

Each has the label ``queue``.  A consumer is counted from :meth:`BaseConsumer.run` on.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from fedbus import metrics

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Counted(Protocol):
    @property
    def queue_name(self) -> str: ...
    @property
    def counters(self) -> Mapping[str, int]: ...
    @property
    def handler_seconds(self) -> Histogram: ...
    @property
    def handler(self) -> object: ...


def handler_counters(consumer: Counted) -> Mapping[str, int]:
    """The ``counters`` of the object whose method is the consumer's handler, if any."""
    owner = getattr(consumer.handler, "__self__", None)
    counters = getattr(owner, "counters", None)
    return counters if isinstance(counters, Mapping) else {}


def handler_histogram() -> Histogram:
    """The handler-latency histogram of one consumer (kept out of any registry: the
    collector below serves every consumer's, with its ``queue`` label)."""
    return Histogram("fedbus_consumer_handler_seconds", "Seconds the handler took",
                     registry=None, buckets=BUCKETS)


class ConsumersCollector(Collector):
    def __init__(self) -> None:
        self._running: weakref.WeakSet[Counted] = weakref.WeakSet()

    def track(self, consumer: Counted) -> None:
        self._running.add(consumer)

    def collect(self) -> Iterator[Metric]:
        consumers = sorted(self._running, key=lambda c: c.queue_name)
        yield from _counters("fedbus_consumer", consumers, lambda c: c.counters)
        yield from _counters("fedbus_handler", consumers, handler_counters)
        latency = Metric("fedbus_consumer_handler_seconds", "Seconds the handler took",
                         "histogram")
        for c in consumers:
            for family in c.handler_seconds.collect():
                latency.samples.extend(
                    s._replace(labels={**s.labels, "queue": c.queue_name})
                    for s in family.samples)
        yield latency


def _counters(
    prefix: str, consumers: list[Counted], of: Callable[[Counted], Mapping[str, int]]
) -> Iterator[Metric]:
    names = sorted({k for c in consumers for k in of(c) if _NAME.match(k)})
    for name in names:
        family = CounterMetricFamily(f"{prefix}_{name}", f"Counted as {name}",
                                     labels=["queue"])
        for c in consumers:
            if name in of(c):
                family.add_metric([c.queue_name], of(c)[name])
        yield family


COLLECTOR = ConsumersCollector()
metrics.REGISTRY.register(COLLECTOR)
