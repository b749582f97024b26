"""The base class of fedbus schemas: catalog metadata as class attributes.

A schema class declares, besides fedora-messaging's ``body_schema``:

- ``topic_pattern``: the AMQP pattern its topics match (``org.fedoraproject.*.bus.queue.created``);
- ``summary_template``: a :meth:`str.format` template over the body (the one-line summary);
- ``url_template``: the object's URL, same format (``None``: no URL); a template naming a key
  the body lacks gives no URL;
- ``user_fields`` / ``package_fields``: body keys holding a user name / package name (or a
  list of them), which :attr:`usernames` / :attr:`packages` return — what notifications index on;
- ``agent_field``: the body key naming who caused the event;
- ``example``: a body that validates (the tests check it), shown in the catalog and the docs.

The accessors fedora-messaging consumers call (``summary``, ``__str__``, ``url``,
``usernames``, ``packages``, ``agent_name``, ``app_name``) are derived from these, so the
catalog and the code cannot disagree.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from typing import Any, ClassVar

from fedora_messaging import message as fm

#: the JSON Schema dialect of every fedbus body schema
DRAFT = "http://json-schema.org/draft-07/schema#"


def object_schema(description: str, properties: Mapping[str, Any], required: list[str], *,
                  additional: bool = False) -> dict[str, Any]:
    """A body schema: a JSON object with these ``properties`` and ``required`` keys; other
    keys refused unless ``additional`` (a body fedbus passes on exactly as its service sent
    it)."""
    return {
        "$schema": DRAFT,
        "description": description,
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": additional,
    }


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, body: Mapping[str, Any]) -> str:
    """``template`` formatted with ``body``; a missing key shows as ``?``."""
    return template.format_map(_Missing(body))


def _names(body: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for key in fields:
        value = body.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and item and item not in found:
                found.append(item)
    return found


class FedbusMessage(fm.Message):
    """A fedora-messaging message whose accessors come from catalog metadata."""

    topic_pattern: ClassVar[str] = "#"
    summary_template: ClassVar[str] = "{topic}"
    url_template: ClassVar[str | None] = None
    user_fields: ClassVar[tuple[str, ...]] = ()
    package_fields: ClassVar[tuple[str, ...]] = ()
    agent_field: ClassVar[str | None] = None
    example: ClassVar[dict[str, Any]] = {}
    app: ClassVar[str] = "fedbus"

    @property
    def app_name(self) -> str:
        return self.app

    @property
    def summary(self) -> str:
        """The summary template over the body, on one line."""
        return " ".join(render(self.summary_template, self.body).split())

    def __str__(self) -> str:
        lines = [self.summary]
        if self.url:
            lines.append(self.url)
        lines.append("")
        lines.append(json.dumps(self.body, sort_keys=True, indent=2))
        return "\n".join(lines)

    @property
    def url(self) -> str | None:
        template = self.url_template
        if template is None or any(self.body.get(k) in (None, "") for k in _fields(template)):
            return None
        return template.format_map(self.body)

    @property
    def usernames(self) -> list[str]:
        return _names(self.body, self.user_fields)

    @property
    def packages(self) -> list[str]:
        return _names(self.body, self.package_fields)

    @property
    def agent_name(self) -> str | None:
        if self.agent_field is None:
            return None
        value = self.body.get(self.agent_field)
        return value if isinstance(value, str) and value else None
