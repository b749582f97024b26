"""``fedbus freshness``: how fresh every mirror is, from the bus's own messages.

    fedbus freshness                      # verdict, the master's last in_sync, every mirror
    fedbus freshness --since 1d --json
    fedbus freshness --warning 3600 --critical 86400

The broker keeps the mirror events (the master's ``netapp.snapmirror.*``, every agent's
``mirror.<tier>.sync.*``) in the stream ``fedbus.mirror.events`` for a week (roles/broker);
this command reads the window ``--since`` from it without taking anything away, and says per
mirror its state, its last good pull and its lag behind the master's last in_sync (the
rules: docs/mirroring.md).  The first line is the verdict (``OK``, ``WARNING``,
``CRITICAL``), the exit code 0, 1 or 2 as monitoring plugins expect; 3 (``UNKNOWN``) when
the stream cannot be read.  The account needs read access to the stream (the accounts
table's ``read_queues``; the ``operator`` account has it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from typing import Any

from fedbus import config
from fedbus.cli.cmd_catalog import table
from fedbus.cli.parsing import positive_float
from fedbus.client.blocking import quiet_pika
from fedbus.errors import FedbusError
from fedbus.mirror.freshness import Report, assess, fold, human
from fedbus.mirror.history import read_stream

STREAM = "fedbus.mirror.events"
_SPAN = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def span(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``12h``, ``7d`` → a timedelta; argparse type."""
    match = _SPAN.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"expected a duration such as 30m, 12h or 7d, "
                                         f"got {text!r}")
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT[match.group(2)])


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "freshness",
        help="how fresh every mirror is (lag behind the master's last in_sync)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", action="append", metavar="URL", help="AMQP URL (default: [amqp])")
    p.add_argument("--stream", default=STREAM, help=f"the stream to read ({STREAM})")
    p.add_argument("--since", type=span, default=dt.timedelta(days=7), metavar="SPAN",
                   help="how far back to read (default 7d, the stream's retention)")
    p.add_argument("--warning", type=positive_float, default=6 * 3600.0, metavar="SECONDS",
                   help="lag that makes a WARNING (default 21600: 6 h)")
    p.add_argument("--critical", type=positive_float, default=24 * 3600.0, metavar="SECONDS",
                   help="lag that makes it CRITICAL (default 86400: 1 d)")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(func=run)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def screen(report: Report) -> str:
    lines = [report.level.name + (": " + "; ".join(report.reasons) if report.reasons
                                  else ": every mirror is current or syncing") + "\n"]
    if report.masters:
        lines.append("\nMASTER\n" + table([("VOLUME", "HOST", "LAST IN_SYNC", "CHANGED AT",
                                            "NOW")] + [
            (m.volume, m.host, _when(m.in_sync_at), _when(m.changed_at),
             "changing" if m.changing_since else "in sync") for m in report.masters]))
    if report.rows:
        lines.append("\nMIRRORS\n" + table([("VOLUME", "MIRROR", "TIER", "STATE",
                                             "LAST GOOD PULL", "LAG")] + [
            (r.volume, r.mirror, r.tier, r.state, _when(r.last_good),
             "-" if r.lag_seconds is None else human(r.lag_seconds)) for r in report.rows]))
    if not report.masters and not report.rows:
        lines.append("no mirror events in the window\n")
    return "".join(lines)


def as_json(report: Report) -> str:
    def when(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    doc = {
        "status": report.level.name,
        "reasons": list(report.reasons),
        "masters": [{"volume": m.volume, "host": m.host, "in_sync_at": when(m.in_sync_at),
                     "changed_at": when(m.changed_at),
                     "changing_since": when(m.changing_since)} for m in report.masters],
        "mirrors": [{"volume": r.volume, "mirror": r.mirror, "tier": r.tier, "state": r.state,
                     "last_good_pull": when(r.last_good), "lag_seconds": r.lag_seconds}
                    for r in report.rows],
    }
    return json.dumps(doc, indent=2) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.warning > args.critical:
        raise FedbusError("--warning must not be above --critical")
    cfg = config.load(args.config, missing_ok=bool(args.url))
    quiet_pika(args.verbose)
    now = dt.datetime.now(dt.UTC)
    try:
        events = read_stream(cfg.amqp, tuple(args.url) if args.url else None, args.stream,
                             since=now - args.since)
    except FedbusError as exc:
        sys.stdout.write(f"UNKNOWN: {exc}\n")
        return 3
    report = assess(fold(events, cfg.topic_prefix), now, args.warning, args.critical)
    sys.stdout.write(as_json(report) if args.json else screen(report))
    return int(report.level)
