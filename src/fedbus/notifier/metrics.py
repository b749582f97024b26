"""The notifier's metrics (senders and digests), read from their counters at each scrape.

The worker and the senders are consumer-framework consumers: their queue's received /
acked / dead / requeued counts and handler latency are :mod:`fedbus.consumer.metrics`'
(label ``queue``).  This module adds what a sender and the digest service know:

===============================================  =======  =====================================
``fedbus_sender_sent_total``                     counter  jobs sent (SMTP accepted, IRC written)
``fedbus_sender_duplicates_total``               counter  jobs skipped: already sent (ledger)
``fedbus_sender_failed_total``                   counter  sends that raised (retried or dead)
``fedbus_sender_retried_total``                  counter  jobs put back for a later try
                                                          (failed send, over a rate limit)
``fedbus_sender_dead_total``                     counter  jobs dead-lettered (forged, paused
                                                          user, out of attempts)
``fedbus_digest_sent_total``                     counter  digests published to a sender queue
``fedbus_digest_items_total``                    counter  digest items kept
``fedbus_digest_runs_total``                     counter  digest rounds, label ``result``
                                                          (``ok`` / ``failed``)
``fedbus_digest_last_run_timestamp_seconds``     gauge    when the last round ended (0: none)
``fedbus_digest_last_success_timestamp_seconds`` gauge    when the last round that worked ended
``fedbus_digest_last_run_duration_seconds``      gauge    how long the last round took
===============================================  =======  =====================================

The sender families have the label ``type`` (``email`` / ``irc``).  A sender or digest
service is counted from the moment it is built (:func:`track_sender`, :func:`track_digests`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fedbus import metrics


class SenderLike(Protocol):
    @property
    def kind(self) -> str | None: ...
    @property
    def counters(self) -> Mapping[str, int]: ...
    @property
    def consumer(self) -> QueueCounts | None: ...


class QueueCounts(Protocol):
    @property
    def counters(self) -> Mapping[str, int]: ...


class DigestsLike(Protocol):
    @property
    def counters(self) -> Mapping[str, int]: ...
    @property
    def runs(self) -> Mapping[str, int]: ...
    @property
    def last_run(self) -> float: ...
    @property
    def last_success(self) -> float: ...
    @property
    def last_duration(self) -> float: ...


#: sender family -> (where it is counted, its key, help)
_SENDER = (
    ("sent", "sender", "sent", "Jobs sent"),
    ("duplicates", "sender", "duplicates", "Jobs skipped: already sent"),
    ("failed", "sender", "failed", "Sends that raised"),
    ("retried", "consumer", "requeued", "Jobs put back for a later try"),
    ("dead", "consumer", "dead", "Jobs dead-lettered"),
)


class NotifierCollector(Collector):
    def __init__(self) -> None:
        self._senders: weakref.WeakSet[SenderLike] = weakref.WeakSet()
        self._digests: weakref.WeakSet[DigestsLike] = weakref.WeakSet()

    def track_sender(self, sender: SenderLike) -> None:
        self._senders.add(sender)

    def track_digests(self, digests: DigestsLike) -> None:
        self._digests.add(digests)

    def collect(self) -> Iterator[Metric]:
        yield from self._collect_senders()
        yield from self._collect_digests()

    def _collect_senders(self) -> Iterator[Metric]:
        senders = list(self._senders)
        if not senders:
            return
        for name, where, key, text in _SENDER:
            totals: dict[str, int] = {}
            for s in senders:
                kind = s.kind or "any"
                counts = s.counters if where == "sender" else (
                    s.consumer.counters if s.consumer is not None else {})  # fmt: skip
                totals[kind] = totals.get(kind, 0) + counts.get(key, 0)
            family = CounterMetricFamily(f"fedbus_sender_{name}", text, labels=["type"])
            for kind in sorted(totals):
                family.add_metric([kind], totals[kind])
            yield family

    def _collect_digests(self) -> Iterator[Metric]:
        digests = list(self._digests)
        if not digests:
            return
        yield CounterMetricFamily("fedbus_digest_sent", "Digests published to a sender queue",
                                  value=sum(d.counters.get("digests", 0) for d in digests))
        yield CounterMetricFamily("fedbus_digest_items", "Digest items kept",
                                  value=sum(d.counters.get("items", 0) for d in digests))
        runs = CounterMetricFamily("fedbus_digest_runs", "Digest rounds", labels=["result"])
        for result in ("ok", "failed"):
            runs.add_metric([result], sum(d.runs.get(result, 0) for d in digests))
        yield runs
        last = max(digests, key=lambda d: d.last_run)
        yield GaugeMetricFamily("fedbus_digest_last_run_timestamp_seconds",
                                "When the last digest round ended", value=last.last_run)
        yield GaugeMetricFamily("fedbus_digest_last_success_timestamp_seconds",
                                "When the last digest round that worked ended",
                                value=max(d.last_success for d in digests))
        yield GaugeMetricFamily("fedbus_digest_last_run_duration_seconds",
                                "Seconds the last digest round took", value=last.last_duration)


COLLECTOR = NotifierCollector()
metrics.REGISTRY.register(COLLECTOR)
track_sender = COLLECTOR.track_sender
track_digests = COLLECTOR.track_digests
