"""Waiting for a condition in a test: the one ``wait_for`` of the integration, browser and
molecule tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition",
    interval: float = 0.1,
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something true, and
    return that; fail the test (AssertionError naming ``what``) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
