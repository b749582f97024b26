"""Bugzilla: its webhook JSON (bug created, changed, commented) as ``bugzilla.bug.*``.

Bugzilla's webhooks (``Preferences → Webhooks``) POST ``{"webhook_name", "webhook_id",
"event": {"action", "target", "routing_key", "bug_id", "change_set", "time", "user",
"changes"}, "bug": {…}}`` (plus ``"comment"`` or ``"attachment"`` for those targets) to
the webhook endpoint (``/hook/bugzilla``, :mod:`fedbus.wedges.webhook`); the body of
Bugzilla's STOMP message (what bugzilla2fedmsg reads: a ``comment`` or ``attachment`` object
holds its ``bug``) is taken too.  The message is what Fedora's bugzilla2fedmsg publishes with
its default ``bz4compat = true`` — schema ``bugzilla2fedmsg.messageV1bz4``
(bugzilla2fedmsg-schema) on ``bugzilla.bug.new`` (a bug was created) or
``bugzilla.bug.update`` (changed or commented): Bugzilla's times (UTC) as epoch seconds at
any depth, and the Bugzilla 4 forms of the bug (``assigned_to``, ``component``, ``product``
as strings; ``cc``, ``creator``, ``op_sys``, ``weburl``), of the event (``who``,
``changes[].field_name``) and of a comment (``author``).  bugzilla2fedmsg's ``headers``
key (its STOMP frame's headers) has no webhook counterpart and is left out.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError, ValidationError

SCHEMA = "bugzilla2fedmsg.messageV1bz4"
DEFAULT_PRODUCTS = ("Fedora", "Fedora EPEL")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+00:00)?")
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
    # Bugzilla's times are UTC, "2019-04-18T20:27:01" (STOMP) or with "Z" (webhooks)
    if isinstance(value, str) and _TIME.fullmatch(value):
        return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return value


def _times(obj: Any) -> Any:
    """``obj`` with every Bugzilla time string, at any depth, as epoch seconds."""
    if isinstance(obj, dict):
        return {k: _times(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_times(v) for v in obj]
    return _epoch(obj)


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


def _unpick(payload: dict[str, Any]) -> dict[str, Any]:
    """Bugzilla's STOMP shape (a ``comment``/``attachment`` object holding its ``bug``) as
    the webhook's (``bug`` beside the object); a webhook payload is returned as it is."""
    event = payload.get("event")
    target = event.get("target") if isinstance(event, dict) else None
    if "bug" in payload or not isinstance(target, str) or target == "bug":
        return payload
    obj = payload.get(target)
    if not isinstance(obj, dict) or not isinstance(obj.get("bug"), dict):
        return payload
    obj = dict(obj)
    return {**payload, "bug": obj.pop("bug"), target: obj}


def _bz4(body: dict[str, Any]) -> None:
    """bugzilla2fedmsg's Bugzilla 4 compatibility (its default, ``bz4compat = true``, and
    what ``bugzilla2fedmsg.messageV1bz4`` describes), in place: people, component and
    product as plain strings, ``cc``, ``creator``, ``op_sys``, ``weburl``, ``event.who``,
    ``changes[].field_name`` and a comment's ``author``."""
    bug, event = body["bug"], body["event"]
    for key, sub in (("assigned_to", "login"), ("component", "name"), ("product", "name")):
        if isinstance(bug.get(key), dict) and bug[key].get(sub):
            bug[key] = bug[key][sub]
    bug.setdefault("cc", [])
    if _login(bug.get("reporter")):
        bug["creator"] = _login(bug.get("reporter"))
    if bug.get("operating_system"):
        bug["op_sys"] = bug["operating_system"]
    if not bug.get("weburl"):
        bug["weburl"] = f"https://bugzilla.redhat.com/show_bug.cgi?id={bug.get('id')}"
    event["who"] = _login(event.get("user"))
    event["changes"] = [dict(c, field_name=c.get("field")) if isinstance(c, dict) else c
                        for c in event.get("changes") or []]
    if isinstance(body.get("comment"), dict):
        body["comment"]["author"] = _login(event.get("user")) or ""


def from_webhook(payload: dict[str, Any], policy: Policy | None = None
                 ) -> tuple[str, dict[str, Any], str]:
    """``(topic suffix, body, schema name)`` of one Bugzilla event: its webhook JSON, or
    the body of its STOMP message (what bugzilla2fedmsg reads).

    Raises :class:`ValidationError` on a malformed payload and :class:`Dropped` on one
    that must not reach the bus."""
    policy = policy or Policy()
    payload = _unpick(payload)
    event, bug = payload.get("event"), payload.get("bug")
    if not isinstance(event, dict):
        raise ValidationError("bugzilla: expected an 'event' object")
    for key in ("action", "target", "user"):
        if key not in event:
            raise ValidationError(f"bugzilla: event.{key} missing")
    if not isinstance(event["target"], str) or not isinstance(event["action"], str):
        raise ValidationError("bugzilla: event.action and event.target must be strings")
    if bug is None and not isinstance(payload.get(event["target"]), dict):
        # Bugzilla leaves the event's object out of what is not public
        raise Dropped(f"bug {event.get('bug_id')}: no {event['target']} object (non-public)")
    if not isinstance(bug, dict):
        raise ValidationError("bugzilla: expected a 'bug' object")
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
    _bz4(body)
    body["agent_name"] = agent
    body["usernames"] = sorted(names)
    new = event["target"] == "bug" and event["action"] == "create"
    return ("bugzilla.bug.new" if new else "bugzilla.bug.update"), body, SCHEMA
