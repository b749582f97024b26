"""Bugzilla poller: the fallback when Bugzilla's webhooks cannot reach the bus.

Every interval it asks Bugzilla's REST API through python-bugzilla for the bugs of the
watched products changed since the last poll (``last_change_time``), and publishes what
the webhook would have: ``bugzilla.bug.new`` for a bug created since then,
``bugzilla.bug.update`` for a changed one — with its newest comment since then, if any —
in bugzilla2fedmsg's schema, under the same :class:`~fedbus.wedges.bugzilla.Policy` as
the webhook: a private bug (one in a group) is skipped, private comments are never
published (a change whose newest comment is private is skipped), only the watched
products are published, and people are FAS names from the operator's map.  REST bugs
are turned into the webhook's shape (``assigned_to`` / ``component`` / ``product`` /
``status`` / ``version`` objects).
A failed poll is one log line; the next one starts from the same point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fedbus.message.envelope import Encoded
from fedbus.wedges.base import Sink, one_line, publish_all
from fedbus.wedges.bugzilla import Dropped, Policy, from_webhook
from fedbus.wedges.hooks import Outbox
from fedbus.wedges.metrics import PollStats

log = logging.getLogger("fedbus.wedges.bugzilla")


def _person(login: Any, detail: Any) -> dict[str, Any] | None:
    if not login:
        return None
    d = detail if isinstance(detail, dict) else {}
    return {"id": d.get("id", 0), "login": d.get("email") or login,
            "real_name": d.get("real_name") or d.get("name") or ""}


def _named(value: Any) -> dict[str, Any]:
    name = value[0] if isinstance(value, list) and value else value
    return {"id": 0, "name": name if isinstance(name, str) else ""}


def bug_from_rest(raw: dict[str, Any], weburl: str) -> dict[str, Any]:
    """A REST ``/rest/bug`` record in the webhook's (and bugzilla2fedmsg's) shape."""
    return {
        "id": raw["id"], "alias": raw.get("alias") or [],
        "assigned_to": _person(raw.get("assigned_to"), raw.get("assigned_to_detail")),
        "classification": raw.get("classification", ""),
        "component": _named(raw.get("component")),
        "creation_time": raw.get("creation_time"), "flags": raw.get("flags") or [],
        "is_private": bool(raw.get("groups")), "keywords": raw.get("keywords") or [],
        "last_change_time": raw.get("last_change_time"),
        "operating_system": raw.get("op_sys", ""), "platform": raw.get("platform", ""),
        "priority": raw.get("priority", ""), "product": _named(raw.get("product")),
        "qa_contact": _person(raw.get("qa_contact"), raw.get("qa_contact_detail")),
        "reporter": _person(raw.get("creator"), raw.get("creator_detail")),
        "resolution": raw.get("resolution", ""), "severity": raw.get("severity", ""),
        "status": _named(raw.get("status")), "summary": raw.get("summary", ""),
        "url": f"{weburl}/show_bug.cgi?id={raw['id']}", "version": _named(raw.get("version")),
        "whiteboard": raw.get("whiteboard", ""),
    }


def _iso(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class Poller:
    """Polls ``bz`` (a ``bugzilla.Bugzilla``) for ``products``; :meth:`poll_once`."""

    bz: Any
    products: list[str]
    target: Sink
    weburl: str
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    users: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outbox = Outbox("bugzilla", self.target)
        self.stats = PollStats("bugzilla-poll")
        self.policy = Policy(tuple(self.products), self.users)

    def _messages(self, raw: dict[str, Any]) -> list[Encoded]:
        bug = bug_from_rest(raw, self.weburl)
        created = _iso(raw.get("creation_time"))
        new = created is not None and created >= self.since
        comment = None
        if not new:
            comments = self.bz.get_comments([raw["id"]])["bugs"][str(raw["id"])]["comments"]
            fresh = [c for c in comments if (_iso(c.get("creation_time")) or self.since)
                     > self.since]
            if fresh and fresh[-1].get("is_private"):
                raise Dropped(f"bug {raw['id']}: private comment")
            comment = fresh[-1] if fresh else None
        who = (comment or {}).get("creator") or (raw.get("creator") if new else None) or ""
        event = {"action": "create" if new or comment else "modify",
                 "target": "comment" if comment else "bug",
                 "user": {"id": 0, "login": who, "real_name": ""},
                 "time": raw.get("last_change_time"), "bug_id": raw["id"], "changes": []}
        payload: dict[str, Any] = {"event": event, "bug": bug}
        if comment:
            payload["comment"] = {"id": comment["id"], "body": comment.get("text", ""),
                                  "creation_time": comment.get("creation_time"),
                                  "is_private": bool(comment.get("is_private")),
                                  "number": comment.get("count", 0)}
        suffix, body, schema = from_webhook(payload, self.policy)
        return [self.outbox.message(suffix, body, schema)]

    def poll_once(self) -> int:
        """One poll; returns how many messages were spooled (never raises)."""
        started = datetime.now(UTC)
        try:
            raws = self.bz.query({
                "product": self.products,
                "last_change_time": self.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            })
        except Exception as exc:
            log.error("bugzilla: poll failed: %s", one_line(exc))
            self.stats.polled(False)
            return 0
        out: list[Encoded] = []
        for bug in raws:
            raw = bug.get_raw_data() if hasattr(bug, "get_raw_data") else bug
            try:
                out += self._messages(raw)
            except Dropped as exc:  # not for the bus (private, foreign product)
                log.debug("bugzilla: dropped: %s", exc)
            except Exception as exc:
                log.error("bugzilla: bug %s skipped: %s", raw.get("id"), one_line(exc))
        self.since = started
        spooled = publish_all(self.target, out) if out else 0
        self.stats.polled(True, spooled)
        return spooled
