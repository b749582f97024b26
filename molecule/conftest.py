"""What the testinfra checks of every scenario share: the fixtures and the failure hook of
``molecule/_shared/testlib/bus_testlib.py`` (importable through pyproject.toml's pytest
``pythonpath``; pytest's rootdir is the repository, so this conftest applies to every
scenario's tests)."""

from bus_testlib import (  # noqa: F401
    ca_file,
    pytest_runtest_makereport,
    secrets,
    tls_context,
)
