"""One line from a cattrs validation error: ``<file>: <dotted key>: <what is wrong>``.

cattrs collects the errors of a table in exception groups whose members carry notes naming
the attribute (or list index / table key) they were structuring; the first error is told,
an unknown key before any other of its table.
"""

from __future__ import annotations

import attrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)


def _file_key(cls: type | None, name: str) -> str:
    """The key the file spells for attribute ``name`` of ``cls`` (renamed fields)."""
    if cls is not None and attrs.has(cls):
        for a in attrs.fields(cls):
            if a.name == name:
                return str(a.metadata.get("key", name))
    return name


def _keys(cls: type) -> list[str]:
    return sorted(
        str(a.metadata.get("key", a.name)) for a in attrs.fields(cls) if not a.metadata.get("omit")
    )


def _step(exc: BaseException, parent: BaseException) -> list[str | int]:
    for note in getattr(exc, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            cls = parent.cl if isinstance(parent, ClassValidationError) else None
            return [_file_key(cls, note.name)]
        if isinstance(note, IterableValidationNote):
            return [note.index]
    return []


def _dotted(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _first(exc: BaseException, path: list[str | int]) -> tuple[list[str | int], str]:
    if isinstance(exc, ForbiddenExtraKeysError):
        key = sorted(exc.extra_fields)[0]
        return [*path, key], f"unknown key (expected one of: {', '.join(_keys(exc.cl))})"
    if isinstance(exc, BaseExceptionGroup):
        subs = sorted(exc.exceptions, key=lambda e: not isinstance(e, ForbiddenExtraKeysError))
        return _first(subs[0], [*path, *_step(subs[0], exc)])
    if isinstance(exc, KeyError):
        return path, "required, not set"
    key = getattr(exc, "key", "")
    if key:
        path = [*path, *key.split(".")]
    return path, str(exc)


def one_line(exc: BaseException, name: str, within: str = "") -> str:
    start: list[str | int] = [*within.split(".")] if within else []
    path, message = _first(exc, start)
    where = _dotted(path)
    return " ".join(f"{name}: {where + ': ' if where else ''}{message}".split())
