"""Fixtures for the whole-bus scenario's testinfra checks (see molecule/_shared/testlib)."""

import bus_testlib
import pytest
from bus_e2e import WireRecorder
from bus_testlib import container_ip

# the units whose journal a failing check prints
bus_testlib.JOURNAL_UNITS[:] = [
    "fedbus-relay", "fedbus-notifier-worker@1", "fedbus-notifier-sender@email",
    "fedbus-notifier-sender@irc", "fedbus-mirror",
]


@pytest.fixture(scope="session", autouse=True)
def wire(secrets, ca_file):
    """Every message of the verify run, recorded from its first check to its last
    (test_wire_fedora_schemas.py decodes them as a Fedora consumer would)."""
    recorder = WireRecorder(container_ip("bus-broker"), "bus-broker",
                            secrets["vault_broker_admin_password"], ca_file).start()
    yield recorder
    recorder.stop()
