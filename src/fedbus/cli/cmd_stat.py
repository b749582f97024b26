"""``fedbus stat``: is the bus healthy, and the broker's live state (like qpid-stat).

    fedbus stat                      # verdict, then nodes, queues, dead letters, relays
    fedbus stat --expect-relay koji01 --expect-relay pkgs01   # these relays must be connected
    fedbus stat --queues             # queues only: messages ready/unacked, rates, consumers
    fedbus stat --connections        # who is connected
    fedbus stat --exchanges
    fedbus stat --vhost /stg --json

The first line is the verdict, ``OK``, ``WARNING`` or ``CRITICAL`` with its reasons (the
rules: docs/runbooks/broker.md), and the exit code is 0, 1 or 2 as monitoring plugins
expect; 3 (``UNKNOWN``) when the management API cannot be asked.  The API is ``[management]
url`` of the configuration (or ``--url``), as ``[management] user`` (or the URL's
``user:password@``); ``--cafile`` (or ``[management] ca_cert``) is the CA of its certificate.
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

from fedbus import config, health
from fedbus.cli.cmd_catalog import table
from fedbus.cli.parsing import positive_int
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
    p.add_argument("--cafile", metavar="FILE",
                   help="CA certificate of the management API (default [management] ca_cert)")
    p.add_argument("--vhost", metavar="VHOST", help="only this vhost")
    p.add_argument("--expect-relay", action="append", default=[], metavar="HOST",
                   help="the relay of HOST must be connected (repeat for each host)")
    p.add_argument("--warning", type=positive_int, default=10_000, metavar="N",
                   help="messages ready in a queue that make a WARNING (default 10000)")
    p.add_argument("--critical", type=positive_int, default=100_000, metavar="N",
                   help="messages ready in a queue that make it CRITICAL (default 100000)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--queues", action="store_true", help="list queues")
    what.add_argument("--connections", action="store_true", help="list connections")
    what.add_argument("--exchanges", action="store_true", help="list exchanges")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
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


def _context(args: argparse.Namespace, mgmt: config.ManagementConfig) -> ssl.SSLContext | None:
    cafile = args.cafile or (str(mgmt.ca_cert) if mgmt.ca_cert else None)
    if not cafile:
        return None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise FedbusError(f"--cafile {cafile}: not a readable PEM CA certificate: {exc}") from exc


def _rows(data: Any, kind: str) -> list[Row]:
    if not isinstance(data, list):
        raise FedbusError(f"management API: expected a list of {kind}, got {type(data).__name__}")
    return [item for item in data if isinstance(item, dict)]


def relay_row(c: Row) -> Row:
    return {
        "host": health.relay_host(c) or "",
        "vhost": c.get("vhost", ""),
        "user": c.get("user", ""),
        "peer": c.get("peer_host", ""),
        "tls": bool(c.get("ssl")),
        "state": c.get("state", ""),
    }


def node_row(n: Row) -> Row:
    return {
        "name": n.get("name", ""),
        "running": bool(n.get("running")),
        "mem_alarm": bool(n.get("mem_alarm")),
        "disk_alarm": bool(n.get("disk_free_alarm")),
        "partitions": len(n.get("partitions") or []),
    }


def screen(
    verdict: health.Verdict, nodes: list[Row], queues: list[Row], relays: list[Row]
) -> str:
    """The one-screen answer: the verdict first, then what it was made from."""
    consumer_queues = [q for q in queues if not q["name"].endswith(health.DLQ_SUFFIX)]
    dead = [q for q in queues if q["name"].endswith(health.DLQ_SUFFIX)
            and (q["ready"] or q["unacked"])]
    parts = [verdict.line(), "", "NODES", render(nodes), "QUEUES", render(consumer_queues),
             "DEAD LETTERS", render(dead), "RELAYS", render(relays)]
    return "\n".join(p.rstrip("\n") for p in parts) + "\n"


def run(args: argparse.Namespace) -> int:
    cfg = config.load(args.config, missing_ok=bool(args.url))
    mgmt = cfg.management
    base = args.url or mgmt.url
    if not base:
        raise FedbusError("no management API URL: set [management] url or --url")
    context = _context(args, mgmt)

    def get(kind: str, vhost: str | None = args.vhost) -> list[Row]:
        return _rows(fetch(endpoint(base, kind, vhost), mgmt.user, mgmt.password, context), kind)

    def in_vhost(rows: list[Row]) -> list[Row]:
        rows = [r for r in rows if args.vhost is None or r["vhost"] == args.vhost]
        return sorted(rows, key=lambda r: (r["vhost"], r["name"]))

    if args.queues or args.connections or args.exchanges:
        kind = "connections" if args.connections else "exchanges" if args.exchanges else "queues"
        path, convert = KINDS[kind]
        rows = in_vhost([convert(item) for item in get(path)])
        sys.stdout.write(json.dumps(rows, indent=2) + "\n" if args.json else render(rows))
        return 0
    return _health(args, get, in_vhost)


def _health(
    args: argparse.Namespace, get: Callable[..., list[Row]],
    in_vhost: Callable[[list[Row]], list[Row]],
) -> int:
    try:
        threshold = health.Threshold(args.warning, args.critical)
    except ValueError as exc:
        raise FedbusError(f"--warning/--critical: {exc}") from exc
    expect = health.Expectations(threshold=threshold, relays=tuple(args.expect_relay))
    try:
        nodes, queues = get("nodes", None), get("queues")
        connections = [c for c in get("connections")
                       if args.vhost is None or c.get("vhost") == args.vhost]
    except FedbusError as exc:
        # A monitoring check that cannot look says UNKNOWN (3), in one line.
        sys.stdout.write(f"UNKNOWN: {exc}\n")
        return 3
    verdict = health.assess(nodes, queues, connections, expect)
    node_rows = sorted((node_row(n) for n in nodes), key=lambda r: r["name"])
    queue_rows = in_vhost([queue_row(q) for q in queues])
    relay_rows = sorted((relay_row(c) for c in connections if health.relay_host(c)),
                        key=lambda r: (r["host"], r["vhost"]))
    if args.json:
        doc = {"status": verdict.level.name, "reasons": verdict.reasons, "nodes": node_rows,
               "queues": queue_rows, "relays": relay_rows}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(screen(verdict, node_rows, queue_rows, relay_rows))
    return int(verdict.level)
