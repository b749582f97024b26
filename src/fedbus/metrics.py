"""Prometheus metrics of a fedbus service, served over HTTP with prometheus-client.

Every long-running service runs with ``fedbus --metrics HOST:PORT <command>`` and exposes
``/metrics`` there (the exposition format is the library's, not ours).  The parts of a
service register a collector in :data:`REGISTRY` that reads their state at scrape time
(the relay its spool and counters, the consumer framework every running consumer), so a
scrape sees the current values and costs the service nothing in between.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

from fedbus.errors import FedbusError

#: what ``--metrics`` serves
REGISTRY = CollectorRegistry()


def serve(where: tuple[str, int]) -> None:
    """Start the HTTP endpoint of :data:`REGISTRY` (a daemon thread); one-line error if
    the address is taken."""
    host, port = where
    try:
        start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        raise FedbusError(f"--metrics {host}:{port}: {exc.strerror or exc}") from exc
