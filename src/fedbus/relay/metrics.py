"""The relay's metrics, read from its spool and counters at each scrape.

=============================================  ======  ==========================================
``fedbus_relay_backlog_messages``              gauge   messages waiting in the spool
``fedbus_relay_backlog_bytes``                 gauge   their size
``fedbus_relay_oldest_message_age_seconds``    gauge   how long the oldest has waited (0: none)
``fedbus_relay_dead_messages``                 gauge   messages set aside in ``dead/``
``fedbus_relay_connected``                     gauge   1 while connected to a broker
``fedbus_relay_forwarded_total``               counter messages the broker confirmed
``fedbus_relay_set_aside_total``               counter messages moved to ``dead/``
``fedbus_relay_unroutable_total``              counter messages no queue was bound for
``fedbus_relay_connections_total``             counter connections made to a broker
=============================================  ======  ==========================================
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fedbus.relay.forwarder import Relay


class RelayCollector(Collector):
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def collect(self) -> Iterator[Metric]:
        stats = self.relay.spool.stats()
        counters = self.relay.counters
        yield GaugeMetricFamily("fedbus_relay_backlog_messages",
                                "Messages waiting in the spool", value=stats.count)
        yield GaugeMetricFamily("fedbus_relay_backlog_bytes",
                                "Bytes waiting in the spool", value=stats.bytes)
        yield GaugeMetricFamily("fedbus_relay_oldest_message_age_seconds",
                                "Seconds the oldest waiting message has waited",
                                value=stats.oldest_age)
        yield GaugeMetricFamily("fedbus_relay_dead_messages",
                                "Messages set aside in the spool's dead/", value=stats.dead)
        yield GaugeMetricFamily("fedbus_relay_connected", "1 while connected to a broker",
                                value=1 if self.relay.publisher.is_connected else 0)
        yield CounterMetricFamily("fedbus_relay_forwarded", "Messages the broker confirmed",
                                  value=counters.forwarded)
        yield CounterMetricFamily("fedbus_relay_set_aside", "Messages moved to dead/",
                                  value=counters.buried)
        yield CounterMetricFamily("fedbus_relay_unroutable",
                                  "Messages no queue was bound for", value=counters.unroutable)
        yield CounterMetricFamily("fedbus_relay_connections",
                                  "Connections made to a broker", value=counters.reconnects)
