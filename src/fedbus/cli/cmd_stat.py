"""``fedbus stat``: the broker's live state (like qpid-stat), from the management HTTP API.

    fedbus stat                      # queues: messages ready/unacked, rates, consumers
    fedbus stat --connections        # who is connected
    fedbus stat --exchanges
    fedbus stat --vhost /stg --json

The API is ``[management] url`` of the configuration (or ``--url``), as ``[management] user``
(or the URL's ``user:password@``).
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from fedbus import config
from fedbus.cli.cmd_catalog import one_line_errors, table
from fedbus.errors import FedbusError

Row = dict[str, Any]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stat",
        help="queues, connections, exchanges of the broker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--url", metavar="URL", help="management API base URL, e.g. https://user:pw@bus01:15671"
    )
    p.add_argument("--vhost", metavar="VHOST", help="only this vhost")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--connections", action="store_true", help="list connections")
    what.add_argument("--exchanges", action="store_true", help="list exchanges")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    one_line_errors(p)
    p.set_defaults(func=run)


def _rate(obj: Row, stat: str) -> float:
    details = (obj.get("message_stats") or {}).get(f"{stat}_details") or {}
    return round(float(details.get("rate") or 0.0), 1)


def queue_row(q: Row) -> Row:
    return {
        "vhost": q.get("vhost", ""),
        "name": q.get("name", ""),
        "type": (q.get("type") or "classic"),
        "ready": int(q.get("messages_ready") or 0),
        "unacked": int(q.get("messages_unacknowledged") or 0),
        "publish_rate": _rate(q, "publish"),
        "deliver_rate": _rate(q, "deliver_get"),
        "consumers": int(q.get("consumers") or 0),
    }


def connection_row(c: Row) -> Row:
    client = c.get("client_properties") or {}
    return {
        "vhost": c.get("vhost", ""),
        "name": c.get("name", ""),
        "client": client.get("connection_name") or client.get("product") or "",
        "user": c.get("user", ""),
        "tls": bool(c.get("ssl")),
        "channels": int(c.get("channels") or 0),
        "state": c.get("state", ""),
    }


def exchange_row(e: Row) -> Row:
    return {
        "vhost": e.get("vhost", ""),
        "name": e.get("name") or "(default)",
        "type": e.get("type", ""),
        "durable": bool(e.get("durable")),
        "in_rate": _rate(e, "publish_in"),
        "out_rate": _rate(e, "publish_out"),
    }


KINDS: dict[str, tuple[str, Callable[[Row], Row]]] = {
    "queues": ("queues", queue_row),
    "connections": ("connections", connection_row),
    "exchanges": ("exchanges", exchange_row),
}


def render(rows: list[Row]) -> str:
    """An aligned table with upper-case headers (numbers as printed by ``str``)."""
    if not rows:
        return "(none)\n"
    keys = list(rows[0])
    cells = [tuple(k.upper() for k in keys)]
    for r in rows:
        cells.append(
            tuple(("yes" if v else "no") if isinstance(v, bool) else str(v) for v in r.values())
        )
    return table(cells)


def endpoint(base: str, kind: str, vhost: str | None) -> str:
    path = f"/api/{kind}"
    if vhost is not None and kind != "connections":
        path += "/" + urllib.parse.quote(vhost, safe="")
    return base.rstrip("/") + path


def fetch(
    url: str, user: str | None, password: str | None, context: ssl.SSLContext | None = None
) -> Any:
    parts = urllib.parse.urlsplit(url)
    if parts.username:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    req = urllib.request.Request(url, headers={"accept": "application/json"})
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        req.add_header("authorization", f"Basic {token}")
    safe = url.split("?", 1)[0]
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise FedbusError(f"management API {safe}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise FedbusError(f"cannot reach the management API at {safe}: {exc.reason}") from exc
    except ValueError as exc:
        raise FedbusError(f"management API {safe}: not JSON: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    cfg = config.load(args.config, missing_ok=bool(args.url))
    mgmt = cfg.management
    base = args.url or mgmt.url
    if not base:
        raise FedbusError("no management API URL: set [management] url or --url")
    kind = "connections" if args.connections else "exchanges" if args.exchanges else "queues"
    path, convert = KINDS[kind]
    context = ssl.create_default_context(cafile=str(mgmt.ca_cert)) if mgmt.ca_cert else None
    data = fetch(endpoint(base, path, args.vhost), mgmt.user, mgmt.password, context)
    if not isinstance(data, list):
        raise FedbusError(f"management API: expected a list of {kind}, got {type(data).__name__}")
    rows = [convert(item) for item in data if isinstance(item, dict)]
    if args.vhost is not None:
        rows = [r for r in rows if r["vhost"] == args.vhost]
    rows.sort(key=lambda r: (r["vhost"], r["name"]))
    sys.stdout.write(json.dumps(rows, indent=2) + "\n" if args.json else render(rows))
    return 0
