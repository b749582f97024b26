"""Fixtures for the notifier scenario's testinfra checks (see molecule/_shared/testlib)."""

import bus_testlib

# the units whose journal a failing check prints
bus_testlib.JOURNAL_UNITS[:] = [
    "fedbus-notifier-web", "fedbus-notifier-worker@1", "fedbus-notifier-worker@2",
    "fedbus-notifier-sender@email", "fedbus-notifier-sender@irc", "fedbus-relay", "exim4",
]
