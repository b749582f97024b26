"""Fixtures for the whole-bus scenario's testinfra checks (see molecule/_shared/testlib)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared" / "testlib"))

import bus_testlib
from bus_testlib import *  # noqa: F403

bus_testlib.JOURNAL_UNITS[:] = [
    "fedbus-relay", "fedbus-notifier-worker@1", "fedbus-notifier-sender@email",
    "fedbus-notifier-sender@irc", "fedbus-mirror",
]
