"""Fixtures for the broker scenario's testinfra checks (see molecule/_shared/testlib)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared" / "testlib"))

from bus_testlib import *  # noqa: F403
