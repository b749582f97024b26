"""The broker's objects and accounts as ``roles/broker`` makes them, on a test vhost.

``roles/broker/tasks/objects.yml`` declares, per environment: the exchanges
``fedbus.queues`` (topic: each queue bound under its own name) and ``fedbus.dlx``
(headers: each ``<queue>.dlq`` bound on ``x-first-death-queue``), the policies
``fedbus-queues`` and ``fedbus-dead-letters``, and each consumer queue of the accounts
table with its ``.dlq``.  The accounts come from ``inventories/common/bus.yml`` through the
role's filter (``plugins/filter/bus_accounts.py``).  Imported by the integration tests.
"""

from __future__ import annotations

import importlib.util
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "bus_accounts", ROOT / "plugins" / "filter" / "bus_accounts.py"
)
assert _spec and _spec.loader
bus_accounts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_accounts)

DEFAULTS: dict[str, Any] = yaml.safe_load((ROOT / "roles/broker/defaults/main.yml").read_text())
VARS: dict[str, Any] = yaml.safe_load((ROOT / "roles/broker/vars/main.yml").read_text())
QUEUE_EXCHANGE = VARS["broker_queue_exchange"]
DLX = DEFAULTS["broker_dead_letter_exchange"]
PREFIX = "org.fedoraproject.local"
FOR_ALL = ["bus.canary.sent"]  # roles/broker: broker_publish_for_all
TABLE: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "inventories/common/bus.yml").read_text()
)["fedbus_accounts"]


def quoted(vhost: str) -> str:
    return urllib.parse.quote(vhost, safe="")


def policies(broker: Any, vhost: str, *, max_length: int | None = None,
             overflow: str | None = None, expires_ms: int | None = None) -> None:  # fmt: skip
    """The two policies of the role, with its defaults unless told otherwise (a test
    shortens the length limit or the expiry)."""
    qv = quoted(vhost)
    definition: dict[str, Any] = {
        "dead-letter-exchange": DLX,
        "max-length": max_length or DEFAULTS["broker_queue_max_length"],
        "overflow": overflow or DEFAULTS["broker_queue_overflow"],
    }
    expires = DEFAULTS["broker_queue_expires_ms"] if expires_ms is None else expires_ms
    if expires:
        definition["expires"] = expires
    broker.api("PUT", f"policies/{qv}/fedbus-queues",
               {"pattern": r"^(?!amq\.)(?!.*\.dlq$)", "apply-to": "queues", "priority": 0,
                "definition": definition})  # fmt: skip
    broker.api("PUT", f"policies/{qv}/fedbus-dead-letters",
               {"pattern": r"\.dlq$", "apply-to": "queues", "priority": 1,
                "definition": {"max-length": DEFAULTS["broker_dead_letter_queue_max_length"]}})


def queues(broker: Any, vhost: str, names: list[str], *, dlx_match: str = "all-with-x") -> None:
    """The two exchanges, and each queue with its ``.dlq`` and their bindings."""
    qv = quoted(vhost)
    broker.api("PUT", f"exchanges/{qv}/{QUEUE_EXCHANGE}", {"type": "topic", "durable": True})
    broker.api("PUT", f"exchanges/{qv}/{DLX}", {"type": "headers", "durable": True})
    for q in names:
        for name in (q, f"{q}.dlq"):
            broker.api("PUT", f"queues/{qv}/{name}", {"durable": True})
            broker.api("POST", f"bindings/{qv}/e/{QUEUE_EXCHANGE}/q/{name}",
                       {"routing_key": name})  # fmt: skip
        broker.api("POST", f"bindings/{qv}/e/{DLX}/q/{q}.dlq",
                   {"routing_key": "", "arguments": {"x-match": dlx_match,
                                                     "x-first-death-queue": q}})  # fmt: skip


def mirror_events_stream(broker: Any, vhost: str) -> str:
    """The stream of the mirror events, its bindings and its retention policy, as
    roles/broker declares them; returns its name."""
    qv = quoted(vhost)
    name = DEFAULTS["broker_mirror_events_stream"]
    broker.api("PUT", f"queues/{qv}/{name}",
               {"durable": True, "arguments": {"x-queue-type": "stream"}})
    for glob in DEFAULTS["broker_mirror_events_topics"]:
        broker.api("POST", f"bindings/{qv}/e/amq.topic/q/{name}",
                   {"routing_key": f"{PREFIX}.{glob}"})
    broker.api("PUT", f"policies/{qv}/fedbus-mirror-events",
               {"pattern": f"^{name.replace('.', chr(92) + '.')}$", "apply-to": "queues",
                "priority": 2,
                "definition": {"max-age": DEFAULTS["broker_mirror_events_max_age"]}})
    return name


def grant(broker: Any, vhost: str, users: list[dict[str, Any]]) -> None:
    """The filter's permissions and topic permissions of ``users`` on ``vhost``, as
    roles/broker's accounts module applies them."""
    qv = quoted(vhost)
    for u in users:
        p = u["permissions"][0]
        broker.api("PUT", f"permissions/{qv}/{u['user']}",
                   {"configure": p["configure_priv"], "write": p["write_priv"],
                    "read": p["read_priv"]})  # fmt: skip
        for t in u["topic_permissions"]:
            broker.api("PUT", f"topic-permissions/{qv}/{u['user']}",
                       {"exchange": t["exchange"], "write": t["write_priv"],
                        "read": t["read_priv"]})  # fmt: skip


class Accounts:
    """Accounts of the table (renamed with a tag, so tests do not collide) created on the
    broker with the filter's rights on ``vhost``; :meth:`delete` removes them."""

    def __init__(self, broker: Any, vhost: str, names: list[str] | None = None) -> None:
        self.broker = broker
        tag = uuid.uuid4().hex[:6]
        rows = [r for r in TABLE if names is None or r["name"] in names]
        named = [{**r, "name": f"{tag}-{r['name']}", "password": f"pw-{tag}-{r['name']}-0123"}
                 for r in rows]  # fmt: skip
        self.users = bus_accounts.broker_users(named, PREFIX, vhost, publish_for_all=FOR_ALL)
        for u in self.users:
            broker.api("PUT", f"users/{u['user']}", {"password": u["password"], "tags": u["tags"]})
        grant(broker, vhost, self.users)
        self.login = {
            r["name"]: (n["name"], n["password"]) for r, n in zip(rows, named, strict=True)
        }

    def url(self, name: str, vhost: str) -> str:
        user, password = self.login[name]
        return self.broker.amqp_url(vhost, user, password)

    def delete(self) -> None:
        for u in self.users:
            self.broker.api("DELETE", f"users/{u['user']}")
