"""Reading settings files: the TOML table, and a secret from its own file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError


def read_toml(file: Path) -> dict[str, Any]:
    """The TOML table in ``file``; ConfigError (one line) when unreadable or not TOML.

    A missing file raises FileNotFoundError: the caller decides whether defaults apply.
    """
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{file.name}: not valid TOML: {exc}") from exc


def secret_text(path: Path) -> str:
    """The secret in ``path``: its first line, without the line end.

    ValueError (one line, no prefix) when the file cannot be read or is empty.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ValueError(f"cannot read {path}: {reason}") from exc
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise ValueError(f"{path} is empty")
    return secret


def read_password_file(path: Path, where: str) -> str:
    """:func:`secret_text`, as a ConfigError prefixed by ``where`` ("<file>: <key>")."""
    try:
        return secret_text(path)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
