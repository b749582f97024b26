"""The mirror agent's metrics, read from the agent at each scrape.

========================================================  =======  =================================
``fedbus_mirror_last_sync_start_timestamp_seconds``       gauge    last pull started (0: none)
``fedbus_mirror_last_sync_completion_timestamp_seconds``  gauge    last pull ended (any result)
``fedbus_mirror_last_sync_success_timestamp_seconds``     gauge    last good pull ended
``fedbus_mirror_syncing``                                 gauge    1 while a pull runs
``fedbus_mirror_syncs_total``                             counter  pulls ended, label ``result``
``fedbus_mirror_bytes_total``                             counter  bytes moved (rsync's received)
``fedbus_mirror_files_total``                             counter  regular files transferred
``fedbus_mirror_lag_seconds``                             gauge    seconds behind (0: caught up)
``fedbus_mirror_announcements_total``                     counter  master: announced, ``kind``
========================================================  =======  =================================

Every family has the labels ``mirror`` (the agent's name) and ``mode`` (``master``,
``tier1``, ``tier2``). An upstream "ready" message is a tier-1's
``netapp.snapmirror.in_sync`` or a tier-2's ``ok`` ``mirror.tier1.sync.complete`` of its
upstream; ``result`` is ``ok``, ``failed`` or ``aborted``, ``kind`` ``in_sync`` or
``out_of_sync``. The agent has caught up with it once a pull that started after the agent
received it ended well (a pull takes everything pending). ``fedbus_mirror_lag_seconds`` is
the time since the agent received the oldest "ready" message it has not caught up with:
measured on the agent's own clock, so clock skew between hosts does not enter it. A master
is never behind (0). The agent's queue is a consumer-framework consumer: see
:mod:`fedbus.consumer.metrics`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fedbus import metrics

RESULTS = ("ok", "failed", "aborted")


class Counted(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def last_start(self) -> float: ...
    @property
    def last_completion(self) -> float: ...
    @property
    def last_success(self) -> float: ...
    @property
    def syncing(self) -> bool: ...
    @property
    def syncs(self) -> Mapping[str, int]: ...
    @property
    def bytes_moved(self) -> int: ...
    @property
    def files_moved(self) -> int: ...
    @property
    def announcements(self) -> Mapping[str, int]: ...

    def lag(self, now: float) -> float: ...


class MirrorCollector(Collector):
    def __init__(self) -> None:
        self._agents: weakref.WeakSet[Counted] = weakref.WeakSet()

    def track(self, agent: Counted) -> None:
        self._agents.add(agent)

    def collect(self) -> Iterator[Metric]:
        agents = sorted(self._agents, key=lambda a: a.name)
        if not agents:
            return
        now = time.time()
        labels = ["mirror", "mode"]

        def gauge(name: str, text: str, value: Callable[[Counted], float]) -> Metric:
            family = GaugeMetricFamily(name, text, labels=labels)
            for a in agents:
                family.add_metric([a.name, a.mode], value(a))
            return family

        def counter(name: str, text: str, value: Callable[[Counted], float]) -> Metric:
            family = CounterMetricFamily(name, text, labels=labels)
            for a in agents:
                family.add_metric([a.name, a.mode], value(a))
            return family

        yield gauge("fedbus_mirror_last_sync_start_timestamp_seconds",
                    "When the last pull started", lambda a: a.last_start)
        yield gauge("fedbus_mirror_last_sync_completion_timestamp_seconds",
                    "When the last pull ended", lambda a: a.last_completion)
        yield gauge("fedbus_mirror_last_sync_success_timestamp_seconds",
                    "When the last good pull ended", lambda a: a.last_success)
        yield gauge("fedbus_mirror_syncing", "1 while a pull runs",
                    lambda a: 1 if a.syncing else 0)
        yield gauge("fedbus_mirror_lag_seconds",
                    "Seconds behind the oldest upstream ready message not caught up with",
                    lambda a: a.lag(now))
        syncs = CounterMetricFamily("fedbus_mirror_syncs", "Pulls ended, by result",
                                    labels=[*labels, "result"])
        for a in agents:
            for result in RESULTS:
                syncs.add_metric([a.name, a.mode, result], a.syncs.get(result, 0))
        yield syncs
        yield counter("fedbus_mirror_bytes", "Bytes moved by pulls", lambda a: a.bytes_moved)
        yield counter("fedbus_mirror_files", "Regular files transferred by pulls",
                      lambda a: a.files_moved)
        announced = CounterMetricFamily("fedbus_mirror_announcements",
                                        "Master: in_sync / out_of_sync published",
                                        labels=[*labels, "kind"])
        for a in agents:
            if a.mode == "master":
                for kind in ("in_sync", "out_of_sync"):
                    announced.add_metric([a.name, a.mode, kind], a.announcements.get(kind, 0))
        yield announced


COLLECTOR = MirrorCollector()
metrics.REGISTRY.register(COLLECTOR)
