"""The web UI's and API's metrics: requests by method and status, and their latency.

=====================================  =========  ==========================================
``fedbus_web_requests_total``          counter    answers, labels ``method`` and ``status``
``fedbus_web_request_seconds``         histogram  seconds from the request to the answer's
                                                  start (the body may stream after)
=====================================  =========  ==========================================

``method`` is one of :data:`METHODS` (``other`` for any other); ``status`` the answer's code
(500 when the application raised).

Design: gunicorn forks its workers from the process that serves ``--metrics`` (the master:
its HTTP thread stays there; a worker has no such thread), so the counts are kept where
every worker can add to them and the master can read them: a small table of shared memory
(:func:`multiprocessing.RawArray`, one cell per method and status code, and the histogram's
buckets) made by the master before the fork, with a lock shared the same way.  A worker
that gunicorn restarts keeps adding to the same table, and nothing lives on disk.
prometheus-client's multiprocess mode would need ``PROMETHEUS_MULTIPROC_DIR`` set before the
library is first imported in the master (the CLI imports it before it knows it is to serve
the web), a directory emptied at each start and a ``child_exit`` hook, for a table this size.
"""

from __future__ import annotations

import bisect
import ctypes
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_FIRST, _LAST = 100, 599  # the status codes counted (anything else counts as 500)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestCounts(Collector):
    """The shared table; make it before gunicorn forks, :meth:`wrap` the WSGI app, and
    register it on :data:`fedbus.metrics.REGISTRY` (it is a collector)."""

    def __init__(self) -> None:
        codes = _LAST - _FIRST + 1
        self._codes = codes
        self._counts = multiprocessing.RawArray(ctypes.c_uint64, len(METHODS) * codes)
        self._buckets = multiprocessing.RawArray(ctypes.c_uint64, len(BUCKETS) + 1)
        self._sum = multiprocessing.RawArray(ctypes.c_double, 1)
        self._lock = multiprocessing.Lock()

    def count(self, method: str, status: int, seconds: float) -> None:
        m = METHODS.index(method) if method in METHODS else len(METHODS) - 1
        code = status if _FIRST <= status <= _LAST else 500
        bucket = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            self._counts[m * self._codes + code - _FIRST] += 1
            self._buckets[bucket] += 1
            self._sum[0] += seconds

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """``app`` counting each request it answers."""

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            started = time.perf_counter()
            status = [500]

            def start(line: str, headers: Any, exc_info: Any = None) -> Any:
                head = line.split(" ", 1)[0]
                status[0] = int(head) if head.isdigit() else 500
                return start_response(line, headers, exc_info)

            try:
                return app(environ, start)
            finally:
                self.count(str(environ.get("REQUEST_METHOD", "")), status[0],
                           time.perf_counter() - started)

        return counted

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counts = list(self._counts)
            buckets = list(self._buckets)
            total = self._sum[0]
        requests = CounterMetricFamily("fedbus_web_requests", "Answers by method and status",
                                       labels=["method", "status"])
        for i, n in enumerate(counts):
            if n:
                method, code = METHODS[i // self._codes], i % self._codes + _FIRST
                requests.add_metric([method, str(code)], n)
        yield requests
        cumulative, running = [], 0
        for bound, n in zip((*map(str, BUCKETS), "+Inf"), buckets, strict=True):
            running += n
            cumulative.append((bound, running))
        yield HistogramMetricFamily("fedbus_web_request_seconds",
                                    "Seconds from the request to the answer's start",
                                    buckets=cumulative, sum_value=total)
