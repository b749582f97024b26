"""Fixtures of the notifier's integration tests: a real SMTP server and a real IRC server
(ngircd), one of each per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.notifier_servers import IrcServer, SmtpServer


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IrcServer]:
    server = IrcServer(tmp_path_factory.mktemp("ircd")).start()
    yield server
    server.stop()
