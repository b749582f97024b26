"""Decode recorded bus messages the way a Fedora consumer does: fedora-messaging's own
``get_message`` with only Fedora's schema packages and fedbus-messages installed.

Run by the interpreter of that virtualenv (not fedbus's): reads JSON lines
``{"topic", "headers", "body"}`` (body as text) on stdin, prints one JSON summary:
``{"messages", "unknown": [...], "invalid": [...], "schemas": {name: count}}``.  A message
is *unknown* when no installed package registers its schema (fedora-messaging falls back to
its base ``Message``), *invalid* when its class refuses it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter

import pika
from fedora_messaging import message as fm


def main() -> int:
    logging.disable(logging.CRITICAL)  # fedora-messaging logs each fallback; we count them
    unknown: list[dict] = []
    invalid: list[dict] = []
    schemas: Counter[str] = Counter()
    count = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        count += 1
        headers = record["headers"] or {}
        name = str(headers.get("fedora_messaging_schema", ""))
        props = pika.BasicProperties(headers=headers, content_encoding="utf-8",
                                     content_type="application/json")
        try:
            message = fm.get_message(record["topic"], props, record["body"].encode("utf-8"))
        except fm.ValidationError as exc:
            invalid.append({"topic": record["topic"], "schema": name,
                            "error": str(exc).splitlines()[0][:300]})
            continue
        if type(message) is fm.Message:
            unknown.append({"topic": record["topic"], "schema": name})
            continue
        try:  # what a consumer reads of it
            _read = (str(message), message.summary, message.usernames, message.packages,
                     message.agent_name, message.url)
        except Exception as exc:  # a schema whose accessors break on its own message
            invalid.append({"topic": record["topic"], "schema": name,
                            "error": f"accessor: {type(exc).__name__}: {exc}"[:300]})
            continue
        schemas[name] += 1
    json.dump({"messages": count, "unknown": unknown, "invalid": invalid,
               "schemas": dict(sorted(schemas.items()))}, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
