"""``fedbus catalog``: the message schemas.

fedbus catalog                 # name, topic pattern, summary of each fedbus schema
fedbus catalog --all           # … and the other installed fedora.messages schemas
fedbus catalog show NAME       # the schema (JSON) and an example body
fedbus catalog --markdown      # the docs page (docs/messages.md)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from fedbus.message import catalog


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "catalog",
        help="list the message schemas",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--all", action="store_true", help="include other installed schemas")
    p.add_argument("--markdown", action="store_true", help="print the docs page and exit")
    sub = p.add_subparsers(dest="catalog_command", metavar="show NAME")
    show = sub.add_parser("show", help="one schema: JSON schema, metadata, example")
    show.add_argument("name", help="schema name, e.g. fedbus.bus.canary.v1")
    p.set_defaults(func=run)


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns (the last column is not padded)."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def describe(entry: catalog.Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "class": entry.origin,
        "fedbus": entry.is_fedbus,
        "description": entry.description,
        "topic": entry.topic_pattern,
        "summary": entry.summary_template,
        "url": entry.url_template,
        "users": list(entry.user_fields),
        "packages": list(entry.package_fields),
        "body_schema": entry.body_schema,
        "example": entry.example,
    }


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(catalog.markdown())
        return 0
    if args.catalog_command == "show":
        print(json.dumps(describe(catalog.get(args.name)), indent=2))
        return 0
    rows: list[tuple[str, ...]] = [("SCHEMA", "TOPIC", "SUMMARY")]
    for e in catalog.entries(include_foreign=args.all):
        rows.append((e.name, e.topic_pattern or "-", e.description))
    sys.stdout.write(table(rows))
    return 0
