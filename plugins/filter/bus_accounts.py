# Copyright: fedbus contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the bus's one declarative accounts table into RabbitMQ users and permissions.

The table (``fedbus_accounts`` in each inventory) says which service may publish
which topic patterns and which queues each consumer owns; ``broker_users`` derives
from it, for every account, the regular permissions (configure/write/read regexes
on the vhost) and the topic permissions that the broker enforces: on ``amq.topic``
(the topics it may publish and bind) and on ``fedbus.queues`` (the names of its own
queues, the only ones it may put a message in: dead letters, the notifier's jobs).

No account may write to the default exchange (``amq.default``: a publish there reaches
any queue, topic permissions do not apply) nor to the dead-letter exchange.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: broker_users
short_description: Derive RabbitMQ users and permissions from the fedbus accounts table
description:
  - Validates the accounts table and returns one entry per account, shaped for
    M(community.rabbitmq.rabbitmq_user).
options:
  _input:
    description:
      - The accounts table, a list of dicts with C(name), C(password), C(publish),
        C(consume), C(read), C(read_exchanges), C(read_queues), C(tail) and C(tags).
      - C(read_queues) names queues the broker role declares itself (the stream
        C(fedbus.mirror.events)) that the account may read but not declare, bind or delete.
    type: list
    elements: dict
    required: true
  prefix:
    description: The environment's topic prefix, for example C(org.fedoraproject.prod).
    type: str
    required: true
  vhost:
    description: The environment's vhost.
    type: str
    required: true
  exchange:
    description: The bus exchange.
    type: str
    default: amq.topic
  queue_exchange:
    description:
      - The topic exchange where each queue is bound under its own name; a consumer may
        publish and bind there only the names of its own queues.
    type: str
    default: fedbus.queues
  publish_for_all:
    description:
      - Topic globs (relative to O(prefix)) that every account allowed to publish may also
        publish, for example C(bus.canary.sent), the canary of C(playbooks/canary.yml).
    type: list
    elements: str
    default: []
"""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_TOPIC_WORD = re.compile(r"^([a-z0-9_-]+|\*|#)$")
_QUEUE = re.compile(r"^[A-Za-z0-9_.*-]+$")
_TAGS = {"management", "monitoring", "policymaker", "administrator"}
_KEYS = {
    "name",
    "description",
    "password",
    "publish",
    "consume",
    "read",
    "read_exchanges",
    "read_queues",
    "tail",
    "tags",
}


def topic_glob_to_regex(prefix: str, pattern: str) -> str:
    """AMQP topic glob relative to ``prefix`` (``buildsys.#``) -> anchored regex."""
    words = pattern.split(".")
    out = ["^", re.escape(prefix)]
    for word in words:
        if not _TOPIC_WORD.match(word):
            raise AnsibleFilterError(
                f"topic pattern {pattern!r}: word {word!r} is not made of "
                "lower-case a-z, 0-9, '_', '-', or is '*' or '#'"
            )
        if word == "#":
            out.append(r"(\.[^.]+)*")
        elif word == "*":
            out.append(r"\.[^.]+")
        else:
            out.append(r"\." + re.escape(word))
    out.append("$")
    return "".join(out)


def queue_glob_to_regex(pattern: str) -> str:
    """Queue name glob (``*`` = any characters) -> regex alternative (unanchored)."""
    if not _QUEUE.match(pattern):
        raise AnsibleFilterError(f"queue {pattern!r}: only A-Z a-z 0-9 _ . - and * are allowed")
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def _alternatives(parts: list[str]) -> str:
    return "^(" + "|".join(parts) + ")$" if parts else "^$"


def _as_list(account: dict, key: str) -> list:
    value = account.get(key) or []
    if isinstance(value, str) or not isinstance(value, list):
        raise AnsibleFilterError(f"account {account.get('name')!r}: {key} must be a list")
    return value


def _one(
    account: dict, prefix: str, vhost: str, exchange: str, queue_exchange: str, for_all: list[str]
) -> dict:
    name = account.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise AnsibleFilterError(
            f"account name {name!r}: expected lower-case letters, digits, '_', '.', '-'"
        )
    unknown = set(account) - _KEYS
    if unknown:
        raise AnsibleFilterError(f"account {name!r}: unknown keys {sorted(unknown)}")
    password = account.get("password")
    if not isinstance(password, str) or len(password) < 12:
        raise AnsibleFilterError(
            f"account {name!r}: password must be a string of 12 characters or more"
        )
    tags = _as_list(account, "tags")
    bad_tags = set(tags) - _TAGS
    if bad_tags:
        raise AnsibleFilterError(f"account {name!r}: unknown tags {sorted(bad_tags)}")

    own_publish = _as_list(account, "publish")
    # The canary (and whatever else every publisher may send) comes with any publish right.
    extra = [p for p in for_all if p not in own_publish] if own_publish else []
    publish_globs = own_publish + extra
    publish = [topic_glob_to_regex(prefix, p) for p in publish_globs]
    queues = [queue_glob_to_regex(q) for q in _as_list(account, "consume")]
    tail = bool(account.get("tail", False))
    read_patterns = _as_list(account, "read")
    consumer = bool(queues) or tail

    # Each owned queue comes with its dead-letter queue <queue>.dlq.
    named = [f"{q}(\\.dlq)?" for q in queues]
    own_queues = named + ([r"amq\.gen-.*"] if tail else [])
    configure = _alternatives(own_queues)
    # A consumer reaches its own queues by name through the queue exchange (dead letters
    # with the reason, the notifier's jobs); never through amq.default.
    write = _alternatives(
        ([re.escape(exchange)] if publish else [])
        + own_queues
        + ([re.escape(queue_exchange)] if named else [])
    )
    extra_exchanges = [re.escape(x) for x in _as_list(account, "read_exchanges")]
    read_queues = _as_list(account, "read_queues")
    for queue in read_queues:
        if not isinstance(queue, str) or "*" in queue or not _QUEUE.match(queue):
            raise AnsibleFilterError(
                f"account {name!r}: read_queues: {queue!r} is not a queue name (no '*')")
    read = _alternatives(
        own_queues
        + ([re.escape(exchange)] if consumer else [])
        + ([re.escape(queue_exchange)] if named else [])
        + extra_exchanges
        + [re.escape(q) for q in read_queues]
    )
    own_names = _alternatives(named)

    if read_patterns:
        topic_read = "|".join(topic_glob_to_regex(prefix, p) for p in read_patterns)
    else:
        topic_read = ".*" if consumer else "^$"
    return {
        "user": name,
        "password": password,
        "tags": ",".join(tags),
        "permissions": [
            {"vhost": vhost, "configure_priv": configure, "write_priv": write, "read_priv": read}
        ],
        "topic_permissions": [
            {
                "vhost": vhost,
                "exchange": exchange,
                "write_priv": "|".join(publish) if publish else "^$",
                "read_priv": topic_read,
            },
            {
                "vhost": vhost,
                "exchange": queue_exchange,
                "write_priv": own_names,
                "read_priv": own_names,
            },
        ],
        "queues": [q for q in _as_list(account, "consume") if "*" not in q],
    }


def broker_users(
    accounts,
    prefix,
    vhost,
    exchange="amq.topic",
    queue_exchange="fedbus.queues",
    publish_for_all=None,
):
    if not isinstance(accounts, list):
        raise AnsibleFilterError("the accounts table must be a list of accounts")
    for_all = list(publish_for_all or [])
    if not all(isinstance(p, str) for p in for_all):
        raise AnsibleFilterError("publish_for_all must be a list of topic globs")
    seen: set[str] = set()
    result = []
    for account in accounts:
        if not isinstance(account, dict):
            raise AnsibleFilterError(f"account {account!r}: expected a mapping")
        entry = _one(account, prefix, vhost, exchange, queue_exchange, for_all)
        if entry["user"] in seen:
            raise AnsibleFilterError(
                f"account {entry['user']!r} appears twice in the accounts table"
            )
        seen.add(entry["user"])
        result.append(entry)
    return result


class FilterModule:
    def filters(self):
        return {"broker_users": broker_users}
