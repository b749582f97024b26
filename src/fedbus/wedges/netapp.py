"""NetApp ONTAP SnapMirror watcher: ``netapp.snapmirror.out_of_sync`` / ``in_sync``.

Polls the ONTAP REST API (``GET /api/snapmirror/relationships`` with
``fields=uuid,source.path,destination.path,state,healthy,lag_time,transfer.state``,
following ``_links.next``) with HTTP basic auth.  A relationship is *out of sync* while a
transfer runs (``transfer.state`` queued/preparing/transferring/finalizing…), when it is
not ``healthy``, or when its ``lag_time`` (ISO 8601 duration) exceeds ``max_lag``; *in
sync* otherwise.  Each transition is published once (the first out-of-sync observation
too; a relationship first seen in sync publishes nothing).  SnapMirror does not say which
paths changed: ``paths`` is null (= the whole tree).

Plain ``requests`` is used rather than the ``netapp-ontap`` library: same resources and
fields, without its four extra runtime dependencies, and it reaches a plain-HTTP stand-in.
A poll that fails (network, HTTP error, bad JSON) is one log line; the loop goes on.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from fedbus_messages import netapp as n

from fedbus.message.envelope import Encoded
from fedbus.wedges.base import Sink, build, one_line, publish_all
from fedbus.wedges.metrics import PollStats

log = logging.getLogger("fedbus.wedges.netapp")
RESOURCE = "/api/snapmirror/relationships"
FIELDS = "uuid,source.path,destination.path,state,healthy,lag_time,transfer.state"
ACTIVE = {"queued", "preparing", "transferring", "finalizing", "running"}
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def lag_seconds(text: Any) -> float | None:
    """``PT1H2M3S`` → 3723.0; None when absent or unparsable."""
    found = _DURATION.match(text) if isinstance(text, str) else None
    if not found or text in ("P", "PT"):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in found.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def _field(rec: dict[str, Any], name: str, key: str) -> Any:
    """``rec[name][key]``, None when either is absent or not what ONTAP documents."""
    inner = rec.get(name)
    return inner.get(key) if isinstance(inner, dict) else None


def _text(value: Any, default: str = "?") -> str:
    return value if isinstance(value, str) and value else default


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Watcher:
    """One filer's relationships; :meth:`poll_once` publishes the transitions."""

    url: str
    host: str
    target: Sink
    auth: tuple[str, str] | None = None
    max_lag: float = 3600.0
    verify: bool | str = True
    volumes: dict[str, str] = field(default_factory=dict)  # destination path -> tree name
    timeout: float = 30.0
    states: dict[str, tuple[bool, str]] = field(default_factory=dict)  # uuid -> (in?, since)
    session: requests.Session = field(default_factory=requests.Session)
    stats: PollStats = field(default_factory=lambda: PollStats("netapp-watch"))

    def fetch(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        next_url: str | None = f"{self.url.rstrip('/')}{RESOURCE}"
        params: dict[str, str] | None = {"fields": FIELDS, "return_records": "true"}
        while next_url:
            resp = self.session.get(
                next_url,
                params=params,
                auth=self.auth,
                verify=self.verify,
                timeout=self.timeout,
                headers={"Accept": "application/hal+json"},
            )
            resp.raise_for_status()
            data = resp.json()
            if not isinstance(data, dict):
                raise ValueError(f"{RESOURCE}: expected a JSON object, got {type(data).__name__}")
            found = data.get("records")
            if isinstance(found, list):
                records.extend(r for r in found if isinstance(r, dict))
            links = data.get("_links")
            href = _field(links, "next", "href") if isinstance(links, dict) else None
            href = href if isinstance(href, str) else None
            next_url = f"{self.url.rstrip('/')}{href}" if href else None
            params = None  # the next link carries them
        return records

    def in_sync(self, rec: dict[str, Any]) -> bool:
        transfer = _text(_field(rec, "transfer", "state"), "")
        lag = lag_seconds(rec.get("lag_time"))
        return (
            transfer not in ACTIVE
            and rec.get("healthy", True) is not False
            and (lag is None or lag <= self.max_lag)
        )

    def message(self, rec: dict[str, Any], now_in: bool, since: str) -> Encoded:
        src = _text(_field(rec, "source", "path"))
        dst = _text(_field(rec, "destination", "path"))
        body: dict[str, Any] = {
            "volume": self.volumes.get(dst) or src.rsplit(":", 1)[-1] or dst,
            "paths": None,
            "source": "netapp",
            "host": self.host,
            "relationship": f"{src} -> {dst}",
            "changed_at": since,
            "timestamp": _now(),
        }
        if now_in:
            body["lag_seconds"] = lag_seconds(rec.get("lag_time"))
            return build(
                self.target, n.SnapmirrorInSyncV1, body, suffix="netapp.snapmirror.in_sync"
            )
        body["state"] = _text(_field(rec, "transfer", "state"), str(rec.get("state", "")))
        return build(
            self.target, n.SnapmirrorOutOfSyncV1, body, suffix="netapp.snapmirror.out_of_sync"
        )

    def poll_once(self) -> int:
        """One poll; returns how many messages were spooled (never raises)."""
        try:
            records = self.fetch()
        except (requests.RequestException, ValueError) as exc:
            log.error("netapp: %s: poll failed: %s", self.host, one_line(exc))
            self.stats.polled(False)
            return 0
        out: list[Encoded] = []
        for rec in records:
            uuid = rec.get("uuid")
            if not isinstance(uuid, str):
                continue
            now_in = self.in_sync(rec)
            before = self.states.get(uuid)
            if before is None and now_in:
                self.states[uuid] = (True, _now())
                continue
            if before is not None and before[0] == now_in:
                continue
            since = _now() if now_in is False else (before[1] if before else _now())
            try:
                out.append(self.message(rec, now_in, since))
            except Exception as exc:
                log.error("netapp: %s: relationship %s skipped: %s", self.host, uuid, one_line(exc))
                continue
            self.states[uuid] = (now_in, since)
        spooled = publish_all(self.target, out) if out else 0
        self.stats.polled(True, spooled)
        return spooled

    def run(self, interval: float, stop: Any = None) -> None:
        while stop is None or not stop.is_set():
            self.poll_once()
            if stop is not None:
                stop.wait(interval)
            else:
                time.sleep(interval)
