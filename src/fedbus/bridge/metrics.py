"""The bridge's metrics, read from its counters at each scrape.

=============================================  ======  ==========================================
``fedbus_bridge_events_total``                 counter broker events consumed
``fedbus_bridge_published_total``              counter events published on the bus (confirmed)
``fedbus_bridge_skipped_total``                counter events not bridged (own queues, other vhosts)
``fedbus_bridge_invalid_total``                counter events whose message failed its schema
``fedbus_bridge_consuming``                    gauge   1 while the bridge's queue is consumed
=============================================  ======  ==========================================
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fedbus.bridge.service import Bridge


class BridgeCollector(Collector):
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def collect(self) -> Iterator[Metric]:
        stats = self.bridge.stats
        yield CounterMetricFamily("fedbus_bridge_events", "Broker events consumed",
                                  value=stats.received)
        yield CounterMetricFamily("fedbus_bridge_published",
                                  "Events published on the bus (confirmed)",
                                  value=stats.published)
        yield CounterMetricFamily("fedbus_bridge_skipped", "Events not bridged",
                                  value=stats.skipped)
        yield CounterMetricFamily("fedbus_bridge_invalid",
                                  "Events whose message failed its schema", value=stats.invalid)
        yield GaugeMetricFamily("fedbus_bridge_consuming",
                                "1 while the bridge's queue is consumed",
                                value=1 if self.bridge.ready.is_set() else 0)
