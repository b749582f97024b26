"""Prometheus metrics of a fedbus service: its own registry, served over HTTP.

Every long-running service takes ``--metrics HOST:PORT`` and exposes ``/metrics`` there
with prometheus-client (the exposition format is the library's, not ours).  A service
registers a collector that reads its state at scrape time, so a scrape sees the current
values and costs the service nothing in between.
"""

from __future__ import annotations

import argparse
import ipaddress

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.registry import Collector

from fedbus.errors import FedbusError


def address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) → (host, port); argparse type."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        number = int(port)
        if host:
            ipaddress.ip_address(host)
    except ValueError:
        number = -1
    if not sep or not host or not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (an IP address), got {text!r}")
    return host, number


def serve(where: tuple[str, int], *collectors: Collector) -> CollectorRegistry:
    """Start the HTTP endpoint (a daemon thread) for ``collectors``; one-line error if the
    address is taken."""
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    host, port = where
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise FedbusError(f"--metrics {host}:{port}: {exc.strerror or exc}") from exc
    return registry
