"""The long-running wedges' metrics (the webhook endpoint, ``netapp-watch``,
``bugzilla-poll``), read from their counts at each scrape.

============================================  =======  ========================================
``fedbus_webhook_requests_total``             counter  answers, labels ``route`` and ``status``
``fedbus_webhook_published_total``            counter  messages spooled, label ``service``
``fedbus_webhook_dropped_total``              counter  Bugzilla events not for the bus
                                                       (answered 200), label ``service``
``fedbus_webhook_refused_total``              counter  requests refused, label ``reason``
``fedbus_wedge_polls_total``                  counter  pollers: polls, labels ``wedge`` and
                                                       ``result`` (``ok`` / ``failed``)
``fedbus_wedge_published_total``              counter  pollers: messages spooled, ``wedge``
``fedbus_wedge_last_poll_timestamp_seconds``  gauge    pollers: when the last good poll ended
============================================  =======  ========================================

``route`` is ``/hook/<service>`` for a service with a token, ``/health``, or ``other`` (any
other path: the label's values stay few whatever clients send).  ``reason`` is
``bad_request`` (400), ``token`` (401), ``topic`` (403), ``unknown_service`` (404),
``timeout`` (408), ``length`` (411, 413), ``spool`` (503: the spool is unavailable),
``error`` (500) or ``busy`` (more than ``max_connections`` connections: answered 503 before
any request is read, so not in ``fedbus_webhook_requests_total``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fedbus import metrics

REASONS = {400: "bad_request", 401: "token", 403: "topic", 404: "unknown_service",
           408: "timeout", 411: "length", 413: "length", 500: "error", 503: "spool"}


class WebhookStats:
    """The webhook's counts (one lock: handler threads count concurrently)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.published: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def answered(self, route: str, status: int, *, hook: bool) -> None:
        with self._lock:
            self.requests[route, str(status)] += 1
            if hook and status >= 400:
                self.refused[REASONS.get(status, "bad_request")] += 1

    def count(self, what: str, key: str) -> None:
        with self._lock:
            getattr(self, what)[key] += 1

    def snapshot(self) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int],
                                dict[str, int]]:
        with self._lock:
            return (dict(self.requests), dict(self.published), dict(self.dropped),
                    dict(self.refused))


class PollStats:
    """A poller's counts (its thread alone counts)."""

    def __init__(self, wedge: str) -> None:
        self.wedge = wedge
        self.counters = {"polls_ok": 0, "polls_failed": 0, "published": 0}
        self.last_poll = 0.0
        COLLECTOR.track_poller(self)  # served by ``fedbus --metrics``

    def polled(self, ok: bool, published: int = 0) -> None:
        self.counters["polls_ok" if ok else "polls_failed"] += 1
        self.counters["published"] += published
        if ok:
            self.last_poll = time.time()


class Polled(Protocol):
    @property
    def wedge(self) -> str: ...
    @property
    def counters(self) -> Mapping[str, int]: ...  # polls_ok, polls_failed, published
    @property
    def last_poll(self) -> float: ...


class WedgesCollector(Collector):
    def __init__(self) -> None:
        self._webhooks: weakref.WeakSet[WebhookStats] = weakref.WeakSet()
        self._pollers: weakref.WeakSet[Polled] = weakref.WeakSet()

    def track_webhook(self, stats: WebhookStats) -> None:
        self._webhooks.add(stats)

    def track_poller(self, poller: Polled) -> None:
        self._pollers.add(poller)

    def collect(self) -> Iterator[Metric]:
        yield from self._collect_webhooks()
        yield from self._collect_pollers()

    def _collect_webhooks(self) -> Iterator[Metric]:
        hooks = [s.snapshot() for s in self._webhooks]
        if not hooks:
            return
        requests = CounterMetricFamily("fedbus_webhook_requests", "Answers by route and status",
                                       labels=["route", "status"])
        for key, n in sorted(_sum([h[0] for h in hooks]).items()):
            requests.add_metric(list(key), n)
        yield requests
        for index, name, text, label in ((1, "published", "Messages spooled", "service"),
                                         (2, "dropped", "Bugzilla events not for the bus",
                                          "service"),
                                         (3, "refused", "Requests refused", "reason")):
            family = CounterMetricFamily(f"fedbus_webhook_{name}", text, labels=[label])
            for key, n in sorted(_sum([h[index] for h in hooks]).items()):
                family.add_metric([key], n)
            yield family

    def _collect_pollers(self) -> Iterator[Metric]:
        pollers = sorted(self._pollers, key=lambda p: p.wedge)
        if not pollers:
            return
        polls = CounterMetricFamily("fedbus_wedge_polls", "Polls by result",
                                    labels=["wedge", "result"])
        published = CounterMetricFamily("fedbus_wedge_published", "Messages spooled",
                                        labels=["wedge"])
        last = GaugeMetricFamily("fedbus_wedge_last_poll_timestamp_seconds",
                                 "When the last good poll ended", labels=["wedge"])
        for p in pollers:
            polls.add_metric([p.wedge, "ok"], p.counters.get("polls_ok", 0))
            polls.add_metric([p.wedge, "failed"], p.counters.get("polls_failed", 0))
            published.add_metric([p.wedge], p.counters.get("published", 0))
            last.add_metric([p.wedge], p.last_poll)
        yield polls
        yield published
        yield last


def _sum(counts: list[dict[Any, int]]) -> dict[Any, int]:
    total: Counter[Any] = Counter()
    for c in counts:
        total.update(c)
    return dict(total)


COLLECTOR = WedgesCollector()
metrics.REGISTRY.register(COLLECTOR)
