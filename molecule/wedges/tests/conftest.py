"""Fixtures for the wedges scenario's testinfra checks (see molecule/_shared/testlib)."""

import bus_testlib

# the units whose journal a failing check prints
bus_testlib.JOURNAL_UNITS.append("fedbus-relay")
