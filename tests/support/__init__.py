"""Helpers of the integration and browser tests (and of benchmarks/notifier_latency.py): real
servers and the broker's layout, imported as ``support.<module>``.  ``tests/`` is on
``sys.path`` through ``tests/conftest.py`` (pytest's rootdir-relative import)."""
