"""Fixtures for the whole-bus scenario's testinfra checks (see molecule/_shared/testlib)."""

import bus_testlib

# the units whose journal a failing check prints
bus_testlib.JOURNAL_UNITS[:] = [
    "fedbus-relay", "fedbus-notifier-worker@1", "fedbus-notifier-sender@email",
    "fedbus-notifier-sender@irc", "fedbus-mirror",
]
