"""Scrape a fedbus service's /metrics as Prometheus does (prometheus-client's own parser)."""

from __future__ import annotations

import urllib.request

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families


def families(port: int) -> dict[str, Metric]:
    """The metric families of http://127.0.0.1:<port>/metrics by name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def scrape(port: int) -> dict[str, float]:
    """Every sample by name (labels dropped: the last sample of a name wins)."""
    return {s.name: s.value for f in families(port).values() for s in f.samples}


def answers(port: int) -> bool:
    """Whether the endpoint answers yet."""
    try:
        scrape(port)
    except OSError:
        return False
    return True
