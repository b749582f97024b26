"""fedbus-messages alone, as a Fedora consumer installs it to decode fedbus's messages.

The harness built the fedbus-messages wheel as the roles build it (``FEDBUS_MESSAGES_WHEEL``)
and the wheels of the runtime pins (``FEDBUS_INSTALLED_WHEELHOUSE``).  Here a virtualenv of
its own gets that wheel and only what it depends on (fedora-messaging and its dependencies,
resolved by pip from the wheelhouse, no package index); then, in that virtualenv, every schema
the distribution registers in the ``fedora.messages`` entry point group decodes a message made
of its example body with fedora-messaging's own ``get_message``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

# Run with the consumer virtualenv's python, isolated (-I): no PYTHONPATH, no user site.
DECODE = r"""
import importlib.util, json, uuid
from importlib.metadata import entry_points
import pika
from fedora_messaging.message import INFO, get_message

out = {"fedbus_importable": importlib.util.find_spec("fedbus") is not None, "decoded": []}
for ep in entry_points(group="fedora.messages"):
    if ep.dist is None or ep.dist.metadata["Name"].lower().replace("_", "-") != "fedbus-messages":
        continue
    cls = ep.load()
    topic = cls.topic_pattern.replace("*", "prod").replace("#", "any")
    properties = pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        message_id=str(uuid.uuid4()),
        headers={"fedora_messaging_schema": ep.name, "fedora_messaging_severity": INFO,
                 "sent-at": "2026-12-08T00:00:00+00:00"},
    )
    message = get_message(topic, properties, json.dumps(cls.example).encode("utf-8"))
    message.validate()
    out["decoded"].append({
        "name": ep.name,
        "value": ep.value,
        "class": f"{type(message).__module__}:{type(message).__qualname__}",
        "is_schema": type(message) is cls,
        "topic": message.topic,
        "body_is_example": message.body == cls.example,
        "summary": message.summary,
        "str": str(message),
    })
print(json.dumps(out))
"""


def _env() -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FEDBUS_INSTALLED_VENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(cmd: list[str]) -> str:
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def consumer_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh virtualenv holding the fedbus-messages wheel and its dependencies only."""
    wheel = Path(os.environ["FEDBUS_MESSAGES_WHEEL"])
    house = Path(os.environ["FEDBUS_INSTALLED_WHEELHOUSE"])
    venv = tmp_path_factory.mktemp("consumer") / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable
    _run([base, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--no-index", "--find-links", str(house), str(wheel)])  # fmt: skip
    return python


def registered_names() -> set[str]:
    """The entry points src/fedbus-messages/pyproject.toml declares."""
    source = Path(os.environ["FEDBUS_SOURCE_TREE"])
    project = tomllib.loads((source / "src/fedbus-messages/pyproject.toml").read_text())
    names = set(project["project"]["entry-points"]["fedora.messages"])
    assert len(names) >= 30, names  # the canary, bus events, mirror, netapp, compose, zabbix…
    return names


def test_only_fedbus_messages_and_fedora_messaging_are_installed(consumer_python: str) -> None:
    listed = json.loads(_run([consumer_python, "-m", "pip", "list", "--format=json",
                              "--disable-pip-version-check"]))  # fmt: skip
    names = {p["name"].lower().replace("_", "-") for p in listed}
    assert {"fedbus-messages", "fedora-messaging"} <= names, names
    heavy = {
        "fedbus", "flask", "flask-wtf", "sqlalchemy", "alembic", "aio-pika", "aiormq",
        "gunicorn", "psycopg", "psycopg-binary", "python-bugzilla", "prometheus-client",
    }  # fmt: skip
    assert not names & heavy, sorted(names & heavy)


def test_every_schema_decodes_with_get_message(consumer_python: str) -> None:
    out: dict[str, Any] = json.loads(_run([consumer_python, "-I", "-c", DECODE]))
    assert out["fedbus_importable"] is False
    decoded = {d["name"]: d for d in out["decoded"]}
    assert set(decoded) == registered_names()
    for name, d in decoded.items():
        assert d["is_schema"], d
        assert d["class"] == d["value"] and d["value"].startswith("fedbus_messages."), d
        assert d["body_is_example"], d
        assert d["topic"].startswith("org.fedoraproject.prod."), d
        assert isinstance(d["summary"], str) and d["summary"].strip(), (name, d["summary"])
        assert isinstance(d["str"], str) and d["str"].strip(), (name, d["str"])
