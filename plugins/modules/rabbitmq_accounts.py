#!/usr/bin/python
# Copyright: fedbus contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a RabbitMQ broker's users, permissions and topic permissions in one task."""

from __future__ import annotations

DOCUMENTATION = r"""
module: rabbitmq_accounts
short_description: Converge all of a RabbitMQ broker's accounts through the management API
description:
  - Makes the broker's users, their tags, passwords, permissions and topic permissions what
    O(users) says, in one task and a few HTTP requests (3 reads, then one request per
    difference), where M(community.rabbitmq.rabbitmq_user) starts C(rabbitmqctl), an Erlang
    VM, five or more times per user.
  - Passwords are compared with the broker's salted hashes (SHA-256, SHA-512 or MD5, as the
    broker reports them), so an unchanged password is not rewritten, and they travel in the
    body of an HTTPS request, never on a command line.
  - Users that are not in O(users) nor in O(keep) are deleted when O(purge) is set.
  - Supports check mode and diff mode (the diff names users, tags and permissions, never a
    password).
version_added: 0.1.0
author:
  - Fedora Infrastructure (@fedora-infra)
options:
  users:
    description:
      - Every account, as the C(fedora.bus.broker_users) filter returns them.
    type: list
    elements: dict
    required: true
    suboptions:
      user:
        description: The user name.
        type: str
        required: true
      password:
        description: The password.
        type: str
        required: true
      tags:
        description: Comma-separated user tags (C(management), C(administrator) ...).
        type: str
        default: ""
      permissions:
        description:
          - One entry per vhost, with C(vhost), C(configure_priv), C(write_priv),
            C(read_priv). Permissions on vhosts not listed are removed.
        type: list
        elements: dict
        default: []
      topic_permissions:
        description:
          - One entry per (vhost, exchange), with C(vhost), C(exchange), C(write_priv),
            C(read_priv). Topic permissions not listed are removed.
        type: list
        elements: dict
        default: []
      queues:
        description: Accepted and ignored (the filter's entries carry the account's queues).
        type: list
        elements: str
        default: []
  purge:
    description: Delete the broker's users that are neither in O(users) nor in O(keep).
    type: bool
    default: false
  keep:
    description: Users never deleted by O(purge) (the administrator this task logs in as).
    type: list
    elements: str
    default: []
  login_host:
    description: The management API's host.
    type: str
    default: localhost
  login_port:
    description: The management API's port.
    type: int
    default: 15671
  login_protocol:
    description: C(https) or C(http).
    type: str
    choices: [http, https]
    default: https
  ca_cert:
    description: The CA bundle that signed the management API's certificate.
    type: path
  login_user:
    description: An administrator of the broker.
    type: str
    required: true
  login_password:
    description: Its password.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Accounts from the accounts table
  fedora.bus.rabbitmq_accounts:
    users: "{{ fedbus_accounts | fedora.bus.broker_users('org.fedoraproject.prod', 'prod') }}"
    purge: true
    keep: [admin]
    ca_cert: /etc/rabbitmq/tls/ca.pem
    login_user: admin
    login_password: "{{ vault_broker_admin_password }}"
  no_log: true
"""

RETURN = r"""
created:
  description: Users created.
  returned: always
  type: list
  elements: str
updated:
  description: Existing users whose password, tags, permissions or topic permissions changed.
  returned: always
  type: list
  elements: str
deleted:
  description: Users deleted (O(purge)).
  returned: always
  type: list
  elements: str
"""

import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
from typing import Any  # noqa: E402
from urllib.error import HTTPError  # noqa: E402
from urllib.parse import quote  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.urls import open_url  # noqa: E402

HASHES = {
    "rabbit_password_hashing_sha256": hashlib.sha256,
    "rabbit_password_hashing_sha512": hashlib.sha512,
    "rabbit_password_hashing_md5": hashlib.md5,
}


def password_matches(password: str, stored: str, algorithm: str) -> bool:
    """Whether ``password`` gives the broker's stored hash: base64(salt[4] + H(salt + pw))."""
    hasher = HASHES.get(algorithm)
    if hasher is None or not stored:
        return False
    try:
        raw = base64.b64decode(stored)
    except ValueError:
        return False
    salt, digest = raw[:4], raw[4:]
    return hmac.compare_digest(hasher(salt + password.encode("utf-8")).digest(), digest)


def tag_set(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    return sorted({t.strip() for t in tags or [] if t and t.strip()})


class Api:
    def __init__(self, module: AnsibleModule) -> None:
        p = module.params
        self.module = module
        self.base = f"{p['login_protocol']}://{p['login_host']}:{p['login_port']}/api"
        self.auth = (p["login_user"], p["login_password"])
        self.ca = p["ca_cert"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body)
        try:
            resp = open_url(
                self.base + path,
                method=method,
                data=data,
                headers={"Content-Type": "application/json"},
                url_username=self.auth[0],
                url_password=self.auth[1],
                force_basic_auth=True,
                ca_path=self.ca,
                timeout=30,
            )
            text = resp.read()
        except HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            self.module.fail_json(msg=f"{method} {path}: HTTP {exc.code} {detail}".strip())
        except Exception as exc:  # connection refused, TLS ...
            self.module.fail_json(msg=f"{method} {self.base}{path}: {exc}")
        return json.loads(text) if text else None


def q(value: str) -> str:
    return quote(value, safe="")


def desired_perms(entry: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        p["vhost"]: (p.get("configure_priv", "^$"), p.get("write_priv", "^$"),
                     p.get("read_priv", "^$"))
        for p in entry["permissions"]
    }  # fmt: skip


def desired_topic(entry: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for p in entry["topic_permissions"]:
        out.setdefault(p["vhost"], {})[p["exchange"]] = (
            p.get("write_priv", "^$"), p.get("read_priv", "^$"))  # fmt: skip
    return out


Perms = dict[str, dict[str, tuple[str, str, str]]]  # user -> vhost -> (configure, write, read)
TopicPerms = dict[str, dict[str, dict[str, tuple[str, str]]]]  # user -> vhost -> exchange -> …


def read_accounts(api: Api) -> tuple[dict[str, Any], Perms, TopicPerms]:
    """The broker's users, permissions and topic permissions: three GETs."""
    users = {u["name"]: u for u in api.call("GET", "/users")}
    perms: Perms = {}
    for p in api.call("GET", "/permissions"):
        perms.setdefault(p["user"], {})[p["vhost"]] = (p["configure"], p["write"], p["read"])
    topic: TopicPerms = {}
    for p in api.call("GET", "/topic-permissions"):
        topic.setdefault(p["user"], {}).setdefault(p["vhost"], {})[p["exchange"]] = (
            p["write"], p["read"])  # fmt: skip
    return users, perms, topic


def plan_user(
    entry: dict[str, Any],
    have: dict[str, Any] | None,
    have_perms: dict[str, tuple[str, str, str]],
    have_topic: dict[str, dict[str, tuple[str, str]]],
) -> list[tuple[str, str, Any]]:
    """The API requests that make one user as ``entry`` wants it (none: nothing to do)."""
    want_tags = tag_set(entry["tags"])
    want_perms, want_topic = desired_perms(entry), desired_topic(entry)
    todo: list[tuple[str, str, Any]] = []
    path = q(entry["user"])
    if (
        have is None
        or tag_set(have.get("tags")) != want_tags
        or not password_matches(entry["password"], have.get("password_hash", ""),
                                have.get("hashing_algorithm", ""))
    ):  # fmt: skip
        body = {"password": entry["password"], "tags": ",".join(want_tags)}
        todo.append(("PUT", f"/users/{path}", body))
    for vhost in sorted(set(have_perms) | set(want_perms)):
        if vhost not in want_perms:
            todo.append(("DELETE", f"/permissions/{q(vhost)}/{path}", None))
        elif have_perms.get(vhost) != want_perms[vhost]:
            c, w, r = want_perms[vhost]
            body = {"configure": c, "write": w, "read": r}
            todo.append(("PUT", f"/permissions/{q(vhost)}/{path}", body))
    for vhost in sorted(set(have_topic) | set(want_topic)):
        want = want_topic.get(vhost, {})
        if have_topic.get(vhost, {}) == want:
            continue
        if vhost in have_topic:  # the API removes a user's topic permissions per vhost
            todo.append(("DELETE", f"/topic-permissions/{q(vhost)}/{path}", None))
        for exchange, (w, r) in sorted(want.items()):
            body = {"exchange": exchange, "write": w, "read": r}
            todo.append(("PUT", f"/topic-permissions/{q(vhost)}/{path}", body))
    return todo


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "users": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "user": {"type": "str", "required": True},
                    "password": {"type": "str", "required": True, "no_log": True},
                    "tags": {"type": "str", "default": ""},
                    "permissions": {"type": "list", "elements": "dict", "default": []},
                    "topic_permissions": {"type": "list", "elements": "dict", "default": []},
                    "queues": {"type": "list", "elements": "str", "default": []},
                },
            },
            "purge": {"type": "bool", "default": False},
            "keep": {"type": "list", "elements": "str", "default": []},
            "login_host": {"type": "str", "default": "localhost"},
            "login_port": {"type": "int", "default": 15671},
            "login_protocol": {"type": "str", "default": "https", "choices": ["http", "https"]},
            "ca_cert": {"type": "path"},
            "login_user": {"type": "str", "required": True},
            "login_password": {"type": "str", "required": True, "no_log": True},
        },
        supports_check_mode=True,
    )
    api = Api(module)
    users, perms, topic = read_accounts(api)
    seen: set[str] = set()
    created: list[str] = []
    updated: list[str] = []
    requests: list[tuple[str, str, Any]] = []
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for entry in module.params["users"]:
        name = entry["user"]
        if name in seen:
            module.fail_json(msg=f"user {name!r} is listed twice")
        seen.add(name)
        have = users.get(name)
        have_perms, have_topic = perms.get(name, {}), topic.get(name, {})
        todo = plan_user(entry, have, have_perms, have_topic)
        if todo:
            (updated if have is not None else created).append(name)
            before[name] = None if have is None else {
                "tags": tag_set(have.get("tags")), "permissions": have_perms,
                "topic_permissions": have_topic}  # fmt: skip
            after[name] = {"tags": tag_set(entry["tags"]), "permissions": desired_perms(entry),
                           "topic_permissions": desired_topic(entry)}  # fmt: skip
            requests.extend(todo)

    deleted: list[str] = []
    if module.params["purge"]:
        keep = set(module.params["keep"]) | seen
        for name in sorted(set(users) - keep):
            deleted.append(name)
            before[name], after[name] = {"tags": tag_set(users[name].get("tags"))}, None
            requests.append(("DELETE", f"/users/{q(name)}", None))

    if not module.check_mode:
        for method, path, body in requests:
            api.call(method, path, body)
    changed = bool(requests)
    result: dict[str, Any] = {
        "changed": changed, "created": created, "updated": updated, "deleted": deleted}  # fmt: skip
    if module._diff and changed:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
