"""The web's request counts: kept in shared memory, so what a forked worker counts is what
the parent (the process serving ``--metrics``) serves."""

from __future__ import annotations

import os

from flask import Flask
from prometheus_client import CollectorRegistry

from fedbus.notifier.web.metrics import RequestCounts


def test_requests_by_method_and_status(app: Flask) -> None:
    counts = RequestCounts()
    app.wsgi_app = counts.wrap(app.wsgi_app)  # type: ignore[method-assign]
    reg = CollectorRegistry()
    reg.register(counts)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    assert client.delete("/healthz").status_code == 405
    assert reg.get_sample_value("fedbus_web_requests_total",
                                {"method": "GET", "status": "200"}) == 2
    assert reg.get_sample_value("fedbus_web_requests_total",
                                {"method": "GET", "status": "404"}) == 1
    assert reg.get_sample_value("fedbus_web_requests_total",
                                {"method": "DELETE", "status": "405"}) == 1
    assert reg.get_sample_value("fedbus_web_request_seconds_count") == 4
    assert reg.get_sample_value("fedbus_web_request_seconds_bucket", {"le": "+Inf"}) == 4


def test_a_forked_worker_counts_for_the_parent() -> None:
    counts = RequestCounts()
    reg = CollectorRegistry()
    reg.register(counts)
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            for _ in range(3):
                counts.count("POST", 303, 0.01)
            counts.count("BREW", 418, 0.01)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert reg.get_sample_value("fedbus_web_requests_total",
                                {"method": "POST", "status": "303"}) == 3
    assert reg.get_sample_value("fedbus_web_requests_total",
                                {"method": "other", "status": "418"}) == 1
