"""Bugzilla: its webhook JSON (bug created, changed, commented) as ``bugzilla.bug.*``.

Bugzilla's webhooks (``Preferences → Webhooks``) POST ``{"webhook_name", "webhook_id",
"event": {"action", "target", "routing_key", "bug_id", "change_set", "time", "user",
"changes"}, "bug": {…}}`` (plus ``"comment"`` for a comment) to the webhook endpoint
(``/hook/bugzilla``, :mod:`fedbus.wedges.webhook`).  The message is what Fedora's
bugzilla2fedmsg publishes — schema ``bugzilla2fedmsg.messageV1`` (bugzilla2fedmsg-schema)
on ``bugzilla.bug.new`` (a bug was created) or ``bugzilla.bug.update`` (changed or
commented) — with Bugzilla's ISO times turned into the epoch seconds that schema wants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fedbus.errors import ValidationError

SCHEMA = "bugzilla2fedmsg.messageV1"
_TIMES = ("creation_time", "last_change_time", "time")


def _epoch(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    return value


def _times(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: (_epoch(v) if k in _TIMES else v) for k, v in obj.items()}


def from_webhook(payload: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """``(topic suffix, body, schema name)`` of one Bugzilla webhook payload."""
    event, bug = payload.get("event"), payload.get("bug")
    if not isinstance(event, dict) or not isinstance(bug, dict):
        raise ValidationError("bugzilla: expected 'event' and 'bug' objects")
    for key in ("action", "target", "user"):
        if key not in event:
            raise ValidationError(f"bugzilla: event.{key} missing")
    event = _times(event)
    event.setdefault("bug_id", bug.get("id"))
    event.setdefault("routing_key", f"{event['target']}.{event['action']}")
    event.setdefault("change_set", f"{bug.get('id')}.{event.get('time')}")
    body: dict[str, Any] = {"bug": _times(bug), "event": event}
    if isinstance(payload.get("comment"), dict):
        body["comment"] = _times(payload["comment"])
    login = (event.get("user") or {}).get("login")
    people = [login, (bug.get("assigned_to") or {}).get("login"),
              (bug.get("reporter") or {}).get("login")]
    body["usernames"] = list(dict.fromkeys(p.split("@")[0] for p in people if p))
    body["agent_name"] = login.split("@")[0] if login else None
    new = event["target"] == "bug" and event["action"] == "create"
    return ("bugzilla.bug.new" if new else "bugzilla.bug.update"), body, SCHEMA
