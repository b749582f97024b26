"""Helpers shared by the molecule scenarios' testinfra checks.

Tests reach the containers from the controller over the scenario's docker
network, with real clients (pika, ssl, urllib), and read the local example vault
for credentials. On a failure the journal of the units under test is printed.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
VAULT = ROOT / "inventories" / "local" / "group_vars" / "all" / "vault.yml"
VAULT_PASSWORD = ROOT / "inventories" / "local" / "vault-password.txt"
ENVIRONMENT = "local"

# Units whose journal is printed when a test fails (scenarios may extend it).
JOURNAL_UNITS = ["rabbitmq-server"]


def container_ip(name: str) -> str:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    networks = json.loads(out)
    return next(n["IPAddress"] for n in networks.values() if n.get("IPAddress"))


def management_api(broker_ip: str, admin_password: str, ca_file: str) -> Callable[[str], Any]:
    """GET <path> on the broker's management API (https://<broker>:15671) as fedbus-admin,
    checking its certificate against the collection CA; returns the decoded JSON."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = False  # reached by address; the chain is still verified
    auth = base64.b64encode(f"fedbus-admin:{admin_password}".encode()).decode()

    def get(path: str) -> Any:
        request = urllib.request.Request(f"https://{broker_ip}:15671{path}",
                                         headers={"Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(request, context=ctx, timeout=15) as resp:
            return json.loads(resp.read())

    return get


def pki_dir() -> Path:
    scenario = os.environ.get("MOLECULE_SCENARIO_NAME", "default")
    base = os.environ.get("FEDBUS_PKI_DIR") or str(ROOT / ".cache" / "pki-molecule" / scenario)
    return Path(base) / ENVIRONMENT


class Secrets(dict):
    """The vault's values, which pytest's reports (locals, assertion rewriting) must not
    print: the repr names the keys only, at every level."""

    def __init__(self, values: dict) -> None:
        super().__init__({k: Secrets(v) if isinstance(v, dict) else v for k, v in values.items()})

    def __repr__(self) -> str:
        return f"<secrets: {', '.join(sorted(map(str, self)))}>"

    __str__ = __repr__


@pytest.fixture(scope="session")
def secrets() -> Secrets:
    out = subprocess.run(
        ["ansible-vault", "view", "--vault-password-file", str(VAULT_PASSWORD), str(VAULT)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Secrets(yaml.safe_load(out))


@pytest.fixture(scope="session")
def ca_file() -> str:
    path = pki_dir() / "ca.pem"
    assert path.is_file(), f"collection CA not found at {path}"
    return str(path)


@pytest.fixture(scope="session")
def tls_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        host = item.funcargs.get("host")
        if host is not None:
            for unit in JOURNAL_UNITS:
                journal = host.run(f"journalctl -u {unit} -n 60 --no-pager")
                report.sections.append((f"journal {unit}", journal.stdout))
