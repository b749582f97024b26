"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture
def promtool() -> str:
    """Debian's promtool (scripts/host-deps.sh installs it); missing: a failure in CI, a skip
    elsewhere."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing (scripts/host-deps.sh installs Debian's prometheus)")
        pytest.skip("promtool is missing: scripts/host-deps.sh installs it")
    return found
