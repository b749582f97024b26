"""Sets of changed directories: ``None`` means the whole tree.

Paths are relative to the tree's root, ``/``-separated, without ``..``; ``.`` is the root.  A
path stands for its whole subtree, so a set is kept *collapsed*: no member lies under another.
"""

from __future__ import annotations

from collections.abc import Iterable

from fedbus.errors import ValidationError

Paths = frozenset[str] | None  # None: the whole tree
MAX_PATHS = 1000


def clean(path: str) -> str:
    """``path`` normalised (no leading/trailing ``/``, no ``./``); ValidationError if unsafe."""
    if not isinstance(path, str) or not path or "\n" in path or "\r" in path or "\0" in path:
        raise ValidationError(f"path {path!r}: empty or contains a line break")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: rsync's file list cannot hold it
        raise ValidationError(f"path {path!r}: not UTF-8") from exc
    if path.startswith("/"):
        raise ValidationError(f"path {path!r}: must be relative to the tree's root")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValidationError(f"path {path!r}: must not contain '..'")
    return "/".join(parts) or "."


def _ancestors(path: str) -> Iterable[str]:
    """``a``, ``a/b`` for ``a/b/c``: the paths whose subtree holds ``path``."""
    parts = path.split("/")
    return ("/".join(parts[:i]) for i in range(1, len(parts)))


def collapse(paths: Iterable[str], limit: int = MAX_PATHS) -> Paths:
    """The cleaned paths without those under another one; ``None`` (whole tree) if the root
    is among them or more than ``limit`` remain.  Linear in the number of paths (a hint is
    looked up by its ancestors, not compared with every kept one)."""
    kept: set[str] = set()
    for p in sorted({clean(p) for p in paths}, key=lambda s: (s.count("/"), s)):
        if p == ".":
            return None
        if not any(a in kept for a in _ancestors(p)):
            kept.add(p)
            if len(kept) > limit:
                return None
    return frozenset(kept)


def union(a: Paths, b: Paths, limit: int = MAX_PATHS) -> Paths:
    """Both sets together (``None`` absorbs everything)."""
    if a is None or b is None:
        return None
    return collapse(a | b, limit)


def from_body(value: object) -> Paths:
    """The ``paths`` of a message body: a list of strings, or null/absent = whole tree."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationError(f"paths: expected a list of strings or null, got {value!r}")
    return collapse(value) if value else None


def to_body(paths: Paths) -> list[str] | None:
    return None if paths is None else sorted(paths)
