"""plugins/modules/rabbitmq_accounts.py, run by a real ansible-playbook against the test broker.

The accounts come from the accounts filter (as in roles/broker); each run's result is read
from the json callback, and what the broker then has is read back through its management
API and by logging in with the passwords.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pika
import pytest
import yaml

from tests.conftest import Broker

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def run(
    tmp_path: Path, broker: Broker, users: list[dict[str, Any]], *args: str, **params: Any
) -> dict[str, Any]:
    """One task of the module; returns its result (json callback)."""
    task = {
        "fedora.bus.rabbitmq_accounts": {
            "users": users,
            "login_protocol": "http",
            "login_port": broker.mgmt_port,
            "login_user": broker.user,
            "login_password": broker.password,
            **params,
        },
    }
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]
    book = tmp_path / f"play-{uuid.uuid4().hex[:6]}.yml"
    book.write_text(yaml.safe_dump(play))
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    }
    proc = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(book),
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    out = json.loads(proc.stdout)
    result: dict[str, Any] = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["rc"] = proc.returncode
    return result


def account(
    name: str, password: str, vhost: str, tags: str = "", write: str = "^$"
) -> dict[str, Any]:
    return {
        "user": name,
        "password": password,
        "tags": tags,
        "permissions": [
            {"vhost": vhost, "configure_priv": "^$", "write_priv": "amq\\.topic", "read_priv": "^$"}
        ],
        "topic_permissions": [
            {"vhost": vhost, "exchange": "amq.topic", "write_priv": write, "read_priv": "^$"}
        ],
        "queues": [],
    }


def can_log_in(broker: Broker, vhost: str, user: str, password: str) -> bool:
    try:
        pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost, user, password))).close()
    except pika.exceptions.ProbableAuthenticationError:
        return False
    return True


@pytest.fixture
def names(broker: Broker) -> Any:
    made = [f"acct-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    yield made
    for name in made:
        with contextlib.suppress(urllib.error.HTTPError):
            broker.api("DELETE", f"users/{name}")


def test_converges_users_and_is_idempotent(
    tmp_path: Path, broker: Broker, vhost: str, names: list[str]
) -> None:
    a, b, _ = names
    users = [
        account(a, "pw-a-0123456789", vhost, "management", write="^org\\.x\\..*"),
        account(b, "pw-b-0123456789", vhost),
    ]
    first = run(tmp_path, broker, users)
    assert first["rc"] == 0, first
    assert first["changed"] and sorted(first["created"]) == sorted([a, b])
    assert can_log_in(broker, vhost, a, "pw-a-0123456789")
    assert broker.api("GET", f"users/{a}")["tags"] in (["management"], "management")  # type: ignore[index]
    topic = broker.api("GET", f"topic-permissions/{vhost}/{a}")
    assert [(t["exchange"], t["write"], t["read"]) for t in topic] == [  # type: ignore[union-attr]
        ("amq.topic", "^org\\.x\\..*", "^$")
    ]
    perms = broker.api("GET", f"permissions/{vhost}/{b}")
    assert (perms["configure"], perms["write"], perms["read"]) == ("^$", "amq\\.topic", "^$")  # type: ignore[index]

    again = run(tmp_path, broker, users)
    assert again["rc"] == 0 and not again["changed"], again  # passwords compared by hash


def test_check_mode_changes_nothing_then_a_new_password_applies(
    tmp_path: Path, broker: Broker, vhost: str, names: list[str]
) -> None:
    a = names[0]
    assert run(tmp_path, broker, [account(a, "old-0123456789", vhost)])["rc"] == 0
    new = [account(a, "new-0123456789", vhost, write="^org\\.y$")]
    checked = run(tmp_path, broker, new, "--check", "--diff")
    assert checked["rc"] == 0 and checked["changed"] and checked["updated"] == [a]
    assert "new-0123456789" not in json.dumps(checked)  # the diff names no password
    assert can_log_in(broker, vhost, a, "old-0123456789")
    assert run(tmp_path, broker, new)["changed"]
    assert can_log_in(broker, vhost, a, "new-0123456789")
    assert not can_log_in(broker, vhost, a, "old-0123456789")
    topic = broker.api("GET", f"topic-permissions/{vhost}/{a}")
    assert [t["write"] for t in topic] == ["^org\\.y$"]  # type: ignore[union-attr]


def test_removed_permissions_and_purged_users_go(
    tmp_path: Path, broker: Broker, vhost: str, names: list[str]
) -> None:
    a, b, c = names
    users = [account(n, f"pw-{n}-0123456789", vhost) for n in (a, b, c)]
    assert run(tmp_path, broker, users)["rc"] == 0
    bare = {**users[0], "permissions": [], "topic_permissions": []}
    others = [
        u["name"]
        for u in broker.api("GET", "users")  # type: ignore[union-attr]
        if u["name"] not in names
    ]
    result = run(tmp_path, broker, [bare, users[1]], purge=True, keep=others)
    assert result["rc"] == 0, result
    assert result["updated"] == [a] and result["deleted"] == [c]
    for gone in (f"topic-permissions/{vhost}/{a}", f"permissions/{vhost}/{a}", f"users/{c}"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            broker.api("GET", gone)
    assert broker.api("GET", f"users/{b}")
    for name in others:  # kept
        assert broker.api("GET", f"users/{name}")


def test_a_wrong_login_fails_with_one_clear_line(
    tmp_path: Path, broker: Broker, vhost: str, names: list[str]
) -> None:
    result = run(
        tmp_path,
        broker,
        [account(names[0], "pw-0123456789", vhost)],
        login_password="not-the-password",
    )
    assert result["rc"] != 0 and result["failed"]
    assert result["msg"].startswith("GET /users: HTTP 401"), result["msg"]
    assert "not-the-password" not in json.dumps(result)
