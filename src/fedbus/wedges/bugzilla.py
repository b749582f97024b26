"""Bugzilla: its webhook JSON (bug created, changed, commented) as ``bugzilla.bug.*``.

Bugzilla's webhooks (``Preferences → Webhooks``) POST ``{"webhook_name", "webhook_id",
"event": {"action", "target", "routing_key", "bug_id", "change_set", "time", "user",
"changes"}, "bug": {…}}`` (plus ``"comment"`` or ``"attachment"`` for those targets) to
the webhook endpoint (``/hook/bugzilla``, :mod:`fedbus.wedges.webhook`).  The message is
what Fedora's bugzilla2fedmsg publishes — schema ``bugzilla2fedmsg.messageV1``
(bugzilla2fedmsg-schema) on ``bugzilla.bug.new`` (a bug was created) or
``bugzilla.bug.update`` (changed or commented) — with Bugzilla's ISO times turned into the
epoch seconds that schema wants.

What reaches the bus is what bugzilla2fedmsg lets through (:class:`Policy`):

- nothing non-public: an event whose object (``comment``, ``attachment``) is missing, a
  private bug (``bug.is_private``), a private comment or attachment (``is_private``) is
  dropped (:class:`Dropped`), never published;
- only the products of the allow-list (``Policy.products``, bugzilla2fedmsg's
  ``bugzilla.products``; default Fedora and Fedora EPEL);
- ``agent_name`` and ``usernames`` are FAS names, never e-mail addresses: an address
  ``<name>@fedoraproject.org`` is ``<name>``; any other address is looked up in the
  operator's map (``Policy.users``, e-mail → FAS name: bugzilla2fedmsg asks FASJSON for the
  account whose Bugzilla e-mail it is); an address not found gives no name
  (``agent_name`` null, left out of ``usernames``).  ``usernames`` are the reporter, the
  assignee, people added to CC or asked for needinfo by the event, and the agent;
  addresses ending in ``lists.fedoraproject.org`` (mailing lists) are left out.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError, ValidationError

SCHEMA = "bugzilla2fedmsg.messageV1"
DEFAULT_PRODUCTS = ("Fedora", "Fedora EPEL")
_TIMES = ("creation_time", "last_change_time", "time")
_FAS_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class Dropped(Exception):
    """The event is not for the bus (non-public, or a product not published)."""


@dataclass(frozen=True)
class Policy:
    """What of Bugzilla may reach the bus: the products published and the e-mail → FAS
    name map (lower-case addresses)."""

    products: tuple[str, ...] = DEFAULT_PRODUCTS
    users: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.products:
            raise ConfigError("bugzilla: no product to publish (give at least one)")
        for product in self.products:
            if not isinstance(product, str) or not product.strip():
                raise ConfigError(f"bugzilla: product {product!r}: expected a product name")

    def fas_name(self, email: Any) -> str | None:
        """The FAS name of a Bugzilla login (an e-mail address); None when unknown."""
        if not isinstance(email, str) or not email:
            return None
        if email.endswith("@fedoraproject.org"):
            return email.rsplit("@", 1)[0]
        return self.users.get(email.strip().lower())


def load_users(path: str | Path) -> dict[str, str]:
    """The operator's ``"e-mail" = "fas-name"`` TOML file; ConfigError naming a bad line."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the Bugzilla user map: {exc}") from exc
    return check_users(data, str(path))


def check_users(data: Mapping[str, Any], where: str = "bugzilla users") -> dict[str, str]:
    users: dict[str, str] = {}
    for email, name in data.items():
        if not _EMAIL.fullmatch(email):
            raise ConfigError(f"{where}: {email!r}: expected an e-mail address")
        if not isinstance(name, str) or not _FAS_NAME.fullmatch(name):
            raise ConfigError(f"{where}: {email!r} = {name!r}: expected a FAS user name")
        users[email.lower()] = name
    return users


def _epoch(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    return value


def _times(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: (_epoch(v) if k in _TIMES else v) for k, v in obj.items()}


def _login(person: Any) -> str | None:
    login = person.get("login") if isinstance(person, dict) else None
    return login if isinstance(login, str) and login else None


def _product(bug: dict[str, Any]) -> Any:
    product = bug.get("product")
    return product.get("name") if isinstance(product, dict) else product


def _needinfo_email(flag: Any) -> str | None:
    # "? (senrique@redhat.com)" -> senrique@redhat.com
    if not isinstance(flag, str) or "(" not in flag:
        return None
    return flag.split("(", 1)[1].rsplit(")", 1)[0] or None


def _emails(bug: dict[str, Any], event: dict[str, Any]) -> set[str]:
    emails = {e for e in (_login(bug.get("reporter")), _login(bug.get("assigned_to"))) if e}
    changes = event.get("changes")
    for change in changes if isinstance(changes, list) else []:
        if not isinstance(change, dict) or not isinstance(change.get("added"), str):
            continue
        if change.get("field") == "cc":
            emails.update(e.strip() for e in change["added"].split(",") if e.strip())
        elif change.get("field") == "flag.needinfo":
            found = _needinfo_email(change["added"])
            if found:
                emails.add(found)
    return {e for e in emails if not e.endswith("lists.fedoraproject.org")}


def _check_public(payload: dict[str, Any], event: dict[str, Any], bug: dict[str, Any]) -> None:
    target = event["target"]
    if target != "bug" and not isinstance(payload.get(target), dict):
        raise Dropped(f"bug {bug.get('id')}: no {target} object (non-public)")
    if bug.get("is_private"):
        raise Dropped(f"bug {bug.get('id')}: private bug")
    for key in ("comment", "attachment"):
        obj = payload.get(key)
        if isinstance(obj, dict) and obj.get("is_private"):
            raise Dropped(f"bug {bug.get('id')}: private {key}")


def from_webhook(payload: dict[str, Any], policy: Policy | None = None
                 ) -> tuple[str, dict[str, Any], str]:
    """``(topic suffix, body, schema name)`` of one Bugzilla webhook payload.

    Raises :class:`ValidationError` on a malformed payload and :class:`Dropped` on one
    that must not reach the bus."""
    policy = policy or Policy()
    event, bug = payload.get("event"), payload.get("bug")
    if not isinstance(event, dict) or not isinstance(bug, dict):
        raise ValidationError("bugzilla: expected 'event' and 'bug' objects")
    for key in ("action", "target", "user"):
        if key not in event:
            raise ValidationError(f"bugzilla: event.{key} missing")
    if not isinstance(event["target"], str) or not isinstance(event["action"], str):
        raise ValidationError("bugzilla: event.action and event.target must be strings")
    _check_public(payload, event, bug)
    product = _product(bug)
    if product not in policy.products:
        raise Dropped(f"bug {bug.get('id')}: product {product!r} is not published")
    event = _times(event)
    event.setdefault("bug_id", bug.get("id"))
    event.setdefault("routing_key", f"{event['target']}.{event['action']}")
    event.setdefault("change_set", f"{bug.get('id')}.{event.get('time')}")
    body: dict[str, Any] = {"bug": _times(bug), "event": event}
    for key in ("comment", "attachment"):
        if isinstance(payload.get(key), dict):
            body[key] = _times(payload[key])
    agent = policy.fas_name(_login(event.get("user")))
    names = {n for n in map(policy.fas_name, _emails(bug, event)) if n}
    if agent is not None:
        names.add(agent)
    body["agent_name"] = agent
    body["usernames"] = sorted(names)
    new = event["target"] == "bug" and event["action"] == "create"
    return ("bugzilla.bug.new" if new else "bugzilla.bug.update"), body, SCHEMA
