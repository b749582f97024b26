"""The cattrs converter: strict scalars, checked types, no extra keys.

:func:`structure` builds a settings class from a decoded TOML table.  The directory of the
file being read (for :data:`~.types.RelPath` and :data:`~.types.Secret`) is a context
variable, set only while :func:`structure` runs.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, override

from fedbus.errors import ConfigError
from fedbus.settings.errors import one_line
from fedbus.settings.files import secret_text
from fedbus.settings.types import FROM_BASE, SECRET_FILE, Check, Invalid, Network

T = TypeVar("T")
_BASE: contextvars.ContextVar[Path] = contextvars.ContextVar("settings_base", default=Path("."))


def got(value: Any) -> str:
    """``value`` as the file would spell it (JSON is close enough to TOML)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _strict(kind: type, expected: str) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise Invalid(f"expected {expected}, got {got(value)}")
        return value

    return hook


def _float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"expected a number, got {got(value)}")
    return float(value)


def _path(value: Any, _: type) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"expected a non-empty string, got {got(value)}")
    return Path(value)


def _network(value: Any, _: type) -> Network:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError as exc:
        raise Invalid(f"{value!r} is not a CIDR") from exc


def _items(conv: cattrs.Converter, pairs: Any, kind: Any, t: Any) -> list[tuple[Any, Any]]:
    """Structure each value of ``pairs`` ((index, value)) as ``kind``; errors name the index."""
    done, errors = [], []
    for index, value in pairs:
        try:
            done.append((index, conv.structure(value, kind)))
        except Exception as exc:
            exc.add_note(IterableValidationNote(f"Structuring @ {index!r}", index, kind))
            errors.append(exc)
    if errors:
        raise IterableValidationError(f"While structuring {t!r}", errors, t)
    return done


def _is_tuple(t: Any) -> bool:
    return typing.get_origin(t) is tuple


def _is_dict(t: Any) -> bool:
    return typing.get_origin(t) in (dict, Mapping) or t is dict


def _is_annotated(t: Any) -> bool:
    return typing.get_origin(t) is Annotated


def make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(Path, _path)
    conv.register_structure_hook_func(lambda t: t == Network, _network)

    def tuple_hook(value: Any, t: Any) -> tuple[Any, ...]:
        (kind, *_) = typing.get_args(t) or (Any,)
        if not isinstance(value, list):
            item = typing.get_args(kind)[0] if _is_annotated(kind) else kind
            what = " of strings" if item is str else ""
            raise Invalid(f"expected a list{what}, got {got(value)}")
        return tuple(v for _, v in _items(conv, enumerate(value), kind, t))

    def dict_hook(value: Any, t: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"expected a table, got {got(value)}")
        args = typing.get_args(t)
        kind = args[1] if len(args) == 2 else Any
        if kind is Any:
            return dict(value)
        return dict(_items(conv, value.items(), kind, t))

    def annotated_hook(value: Any, t: Any) -> Any:
        base, *marks = typing.get_args(t)
        checks = [m for m in marks if isinstance(m, Check)]
        if SECRET_FILE in marks:
            if not isinstance(value, str):
                raise Invalid(f"expected a file name, got {got(value)}")
            return secret_text(_BASE.get() / value) if value else ""
        try:
            result = conv.structure(value, base)
        except Invalid:
            if checks and checks[0].expected:
                raise Invalid(f"expected {checks[0].expected}, got {got(value)}") from None
            raise
        if FROM_BASE in marks:
            result = _BASE.get() / result
        for c in checks:
            if c.expected:
                if not c.test(result):
                    raise Invalid(f"expected {c.expected}, got {got(value)}")
            else:
                try:
                    c.test(result)
                except Exception as exc:
                    raise Invalid(str(exc)) from exc
        return result

    def attrs_factory(cls: type) -> Callable[[Any, type], Any]:
        overrides = {}
        for a in attrs.fields(cls):
            if a.metadata.get("omit"):
                overrides[a.name] = override(omit=True)
            elif "key" in a.metadata:
                overrides[a.name] = override(rename=a.metadata["key"])
        build: Callable[[Any, type], Any] = make_dict_structure_fn(
            cls, conv, **overrides  # type: ignore[arg-type]
        )

        def hook(value: Any, t: type) -> Any:
            if not isinstance(value, dict):
                raise Invalid(f"expected a table, got {got(value)}")
            return build(value, t)

        return hook

    conv.register_structure_hook_func(_is_tuple, tuple_hook)
    conv.register_structure_hook_func(_is_dict, dict_hook)
    conv.register_structure_hook_func(_is_annotated, annotated_hook)
    conv.register_structure_hook_factory(attrs.has, attrs_factory)
    return conv


CONVERTER = make_converter()


def structure(
    cls: type[T], data: Any, name: str, base: Path = Path("."), within: str = ""
) -> T:
    """``cls`` built from the decoded TOML ``data``; ``name`` (the file's name) prefixes
    errors, ``within`` is the dotted key of ``data`` in the file when it is one of its
    tables ("web"), and ``base`` anchors relative file names.

    Every problem is one ConfigError line: ``<name>: <dotted key>: <what is wrong>``.
    """
    token = _BASE.set(base)
    try:
        return CONVERTER.structure(data, cls)
    except (ClassValidationError, IterableValidationError, Invalid) as exc:
        raise ConfigError(one_line(exc, name, within)) from exc
    finally:
        _BASE.reset(token)
