"""``fedbus tail``: watch the bus live, one line per message (like fedmsg-tail).

    fedbus tail                                   # everything on amq.topic
    fedbus tail --topic 'org.fedoraproject.*.buildsys.#' --package kernel
    fedbus tail --json --count 1                  # one raw message, then exit

Declares an exclusive, auto-deleted queue bound to the given topic globs (default ``#``).
A line is: time sent, topic, the schema's summary, the users and packages it concerns.
Messages that fail validation are shown too, marked invalid.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from fedbus import config
from fedbus.cli.parsing import positive_int
from fedbus.client.blocking import connected, quiet_pika
from fedbus.errors import ValidationError
from fedbus.message.envelope import AmqpProperties, decode
from fedbus.message.topic import validate_pattern

COLORS = {
    "time": "\033[2m",
    "topic": "\033[36m",
    "users": "\033[33m",
    "packages": "\033[35m",
    "invalid": "\033[31m",
}
RESET = "\033[0m"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tail",
        help="watch messages live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", action="append", metavar="URL", help="AMQP URL (default: [amqp])")
    p.add_argument("--exchange", default="amq.topic", help="exchange to bind to (amq.topic)")
    p.add_argument(
        "--topic",
        action="append",
        metavar="GLOB",
        help="topic glob to bind (AMQP: * one word, # any); repeatable",
    )
    p.add_argument("--user", action="append", metavar="NAME", help="only messages about NAME")
    p.add_argument(
        "--package", action="append", metavar="NAME", help="only messages about package NAME"
    )
    p.add_argument("--count", type=positive_int, metavar="N", help="exit after N messages")
    p.add_argument("--json", action="store_true", help="print each message as one JSON line")
    p.add_argument("--no-color", action="store_true", help="no colours (also $NO_COLOR)")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class Seen:
    """One received message, decoded when it validates."""

    topic: str
    properties: AmqpProperties
    body: bytes
    summary: str
    usernames: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    error: str | None = None


def inspect(routing_key: str, body: bytes, props: Any) -> Seen:
    p = AmqpProperties.from_amqp(props)
    try:
        msg = decode(routing_key, body, p)
    except ValidationError as exc:
        return Seen(
            routing_key, p, body, "", _from_headers(p, "user"), _from_headers(p, "rpm"), str(exc)
        )
    return Seen(routing_key, p, body, msg.summary, list(msg.usernames), list(msg.packages))


def _from_headers(p: AmqpProperties, kind: str) -> list[str]:
    prefix = f"fedora_messaging_{kind}_"
    return [k[len(prefix) :] for k, v in p.headers.items() if k.startswith(prefix) and v]


def wanted(seen: Seen, users: list[str] | None, packages: list[str] | None) -> bool:
    if users and not set(users) & set(seen.usernames):
        return False
    return not (packages and not set(packages) & set(seen.packages))


def _paint(text: str, what: str, color: bool) -> str:
    return f"{COLORS[what]}{text}{RESET}" if color else text


def sent_at(p: AmqpProperties) -> str:
    raw = p.headers.get("sent-at")
    try:
        when = datetime.datetime.fromisoformat(str(raw))
    except ValueError:
        when = datetime.datetime.now(tz=datetime.UTC)
    return when.astimezone(datetime.UTC).strftime("%H:%M:%S")


def line(seen: Seen, color: bool = False) -> str:
    """``03:00:00 org.fedoraproject.stg.bus.queue.created  summary  [users: a] [packages: b]``."""
    parts = [_paint(sent_at(seen.properties), "time", color), _paint(seen.topic, "topic", color)]
    if seen.error:
        parts.append(_paint(f"invalid: {seen.error}", "invalid", color))
    else:
        parts.append(seen.summary)
    if seen.usernames:
        parts.append(_paint(f"[users: {', '.join(seen.usernames)}]", "users", color))
    if seen.packages:
        parts.append(_paint(f"[packages: {', '.join(seen.packages)}]", "packages", color))
    return "  ".join(parts)


def as_json(seen: Seen) -> str:
    try:
        body: Any = json.loads(seen.body)
    except ValueError:
        body = seen.body.decode("utf-8", "replace")
    out = {
        "topic": seen.topic,
        "id": seen.properties.message_id,
        "headers": seen.properties.headers,
        "priority": seen.properties.priority,
        "body": body,
    }
    if seen.error:
        out["error"] = seen.error
    return json.dumps(out, sort_keys=True)


def use_color(args: argparse.Namespace, stream: TextIO) -> bool:
    return not args.no_color and not os.environ.get("NO_COLOR") and stream.isatty()


def run(args: argparse.Namespace) -> int:
    globs = args.topic or ["#"]
    for g in globs:
        validate_pattern(g)
    cfg = config.load(args.config, missing_ok=bool(args.url))
    quiet_pika(args.verbose)
    urls = tuple(args.url) if args.url else None
    color = use_color(args, sys.stdout)
    shown = 0
    with connected(cfg.amqp, urls, "fedbus-tail") as conn:
        ch = conn.channel()
        queue = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        for g in globs:
            ch.queue_bind(queue, args.exchange, routing_key=g)
        for method, props, body in ch.consume(queue, auto_ack=True):
            seen = inspect(method.routing_key, body, props)
            if not wanted(seen, args.user, args.package):
                continue
            print(as_json(seen) if args.json else line(seen, color), flush=True)
            shown += 1
            if args.count and shown >= args.count:
                break
    return 0
