"""The notifier's own settings: ``/etc/fedbus/notifier.toml`` (or ``$FEDBUS_NOTIFIER_CONFIG``).

The AMQP connection, the environment and the topic prefix come from fedbus.toml
(:mod:`fedbus.config`); this file holds what only the notifier needs::

    database_url = "postgresql+psycopg://notifier@db.example/notifier"  # default SQLite
    database_password_file = "/etc/fedbus/notifier-db.password"         # optional
    base_url = "https://notifications.fedoraproject.org"                # links in mails
    queue = "notifier"          # the workers' shared durable queue
    bindings = []               # default ["<topic_prefix>.#"]
    prefetch = 50

    [email]
    host = "localhost"; port = 25; starttls = false
    user = ""; password_file = ""
    sender = "notifications@fedoraproject.org"
    max_attempts = 8            # then the job is dead-lettered with the reason
    user_rate = 1.0             # notification mails per second per user (token bucket)…
    user_burst = 100            # …saved up to this many; over it a mail waits, never lost

    [irc]
    host = "localhost"; port = 6667; nick = "fedbus-notify"; password_file = ""
    channels = []               # the only #channels the bot may join and write to
    destination_rate = 0.2      # lines per second per nick or channel (token bucket)…
    destination_burst = 10      # …saved up to this many
    user_rate = 0.5             # lines per second per user, all destinations
    user_burst = 30             # over a limit a job is put back for later, never lost

``sender`` must be a bare address (it is the envelope sender); ``nick`` and ``channels``
must be valid by RFC 2812; rates are > 0 and bursts >= 1.

    [web]                       # read by fedbus.notifier.web (kept as a raw table here)

Unknown keys are errors (one line naming the key).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from fedbus import config as fconfig
from fedbus.client.connect import TlsOptions
from fedbus.config import read_toml
from fedbus.errors import ConfigError
from fedbus.notifier.senders.checks import is_addr_spec, is_channel, is_nick

DEFAULT_PATH = Path("/etc/fedbus/notifier.toml")
ENV_VAR = "FEDBUS_NOTIFIER_CONFIG"
DEFAULT_DB = "sqlite:////var/lib/fedbus/notifier.db"
QUEUES = {"email": "notifier.email", "irc": "notifier.irc", "digest": "notifier.digest"}


@dataclass(frozen=True)
class EmailSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = "notifications@fedoraproject.org"
    timeout: float = 30.0
    max_attempts: int = 8
    user_rate: float = 1.0
    user_burst: int = 100


@dataclass(frozen=True)
class IrcSettings:
    host: str = "localhost"
    port: int = 6667
    nick: str = "fedbus-notify"
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    channels: tuple[str, ...] = ()
    destination_rate: float = 0.2
    destination_burst: int = 10
    user_rate: float = 0.5
    user_burst: int = 30


@dataclass(frozen=True)
class NotifierSettings:
    database_url: str = DEFAULT_DB
    base_url: str = "http://localhost:8080"
    queue: str = "notifier"
    bindings: tuple[str, ...] = ()
    prefetch: int = 50
    email: EmailSettings = EmailSettings()
    irc: IrcSettings = IrcSettings()
    web: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None


def _known(t: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(t) - allowed)
    if extra:
        raise ConfigError(
            f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def _typed(t: Mapping[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    value = t.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _rate(t: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = float(_typed(t, key, float, default, where))
    if not value > 0:
        raise ConfigError(f"{where}.{key}: must be > 0, got {value!r}")
    return value


def _burst(t: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = int(_typed(t, key, int, default, where))
    if value < 1:
        raise ConfigError(f"{where}.{key}: must be >= 1, got {value!r}")
    return value


def _checked(value: str, ok: Any, what: str, where: str) -> str:
    if not ok(value):
        raise ConfigError(f"{where}: {value!r} is not {what}")
    return value


def _channels(t: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = t.get("channels", [])
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ConfigError(f"{where}.channels: expected a list of #channel names")
    return tuple(_checked(c, is_channel, "an IRC channel", f"{where}.channels") for c in value)


def _email(e: Mapping[str, Any], base: Path, w: str) -> EmailSettings:
    de = EmailSettings()
    sender = _typed(e, "sender", str, de.sender, w)
    return EmailSettings(
        host=_typed(e, "host", str, de.host, w),
        port=_typed(e, "port", int, de.port, w),
        starttls=_typed(e, "starttls", bool, de.starttls, w),
        user=_typed(e, "user", str, de.user, w),
        password=_secret(e, base, w),
        sender=_checked(sender, is_addr_spec, "a bare address (sender)", w),
        timeout=_typed(e, "timeout", float, de.timeout, w),
        max_attempts=_typed(e, "max_attempts", int, de.max_attempts, w),
        user_rate=_rate(e, "user_rate", de.user_rate, w),
        user_burst=_burst(e, "user_burst", de.user_burst, w),
    )


def _irc(i: Mapping[str, Any], base: Path, w: str) -> IrcSettings:
    di = IrcSettings()
    return IrcSettings(
        host=_typed(i, "host", str, di.host, w),
        port=_typed(i, "port", int, di.port, w),
        nick=_checked(_typed(i, "nick", str, di.nick, w), is_nick, "an IRC nick (nick)", w),
        password=_secret(i, base, w),
        timeout=_typed(i, "timeout", float, di.timeout, w),
        channels=_channels(i, w),
        destination_rate=_rate(i, "destination_rate", di.destination_rate, w),
        destination_burst=_burst(i, "destination_burst", di.destination_burst, w),
        user_rate=_rate(i, "user_rate", di.user_rate, w),
        user_burst=_burst(i, "user_burst", di.user_burst, w),
    )


def _secret(t: Mapping[str, Any], base: Path, where: str) -> str:
    name = _typed(t, "password_file", str, "", where)
    if not name:
        return ""
    path = base / str(name)
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{where}.password_file: cannot read {path}: {exc.strerror}") from exc


def parse(
    data: Mapping[str, Any], name: str = "notifier.toml", base: Path = Path(".")
) -> NotifierSettings:
    w = f"{name}:"
    _known(
        data,
        {"database_url", "database_password_file", "base_url", "queue", "bindings",
         "prefetch", "email", "irc", "web"},
        w,
    )  # fmt: skip
    d = NotifierSettings()
    url = _typed(data, "database_url", str, d.database_url, w)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"{w} database_url: not a database URL: {url!r}") from exc
    password = _secret({"password_file": data.get("database_password_file", "")}, base, w)
    if password:
        url = parsed.set(password=password).render_as_string(hide_password=False)
    bindings = data.get("bindings", [])
    if not isinstance(bindings, list) or not all(isinstance(b, str) for b in bindings):
        raise ConfigError(f"{w} bindings: expected a list of topic patterns")
    e, i = data.get("email", {}), data.get("irc", {})
    for key, table in (("email", e), ("irc", i), ("web", data.get("web", {}))):
        if not isinstance(table, dict):
            raise ConfigError(f"{w} {key}: expected a table")
    _known(e, {"host", "port", "starttls", "user", "password_file", "sender", "timeout",
               "max_attempts", "user_rate", "user_burst"}, f"{w} email")  # fmt: skip
    _known(i, {"host", "port", "nick", "password_file", "timeout", "channels",
               "destination_rate", "destination_burst", "user_rate", "user_burst"},
           f"{w} irc")  # fmt: skip
    return NotifierSettings(
        database_url=url,
        base_url=_typed(data, "base_url", str, d.base_url, w).rstrip("/"),
        queue=_typed(data, "queue", str, d.queue, w),
        bindings=tuple(bindings),
        prefetch=_typed(data, "prefetch", int, d.prefetch, w),
        email=_email(e, base, f"{w} email"),
        irc=_irc(i, base, f"{w} irc"),
        web=dict(data.get("web", {})),
    )


def load(
    path: str | os.PathLike[str] | None = None, *, missing_ok: bool = True
) -> NotifierSettings:
    """Read the settings; with no file named and none at the default path, the defaults."""
    explicit = path or os.environ.get(ENV_VAR)
    file = Path(explicit) if explicit else DEFAULT_PATH
    try:
        data = read_toml(file)
    except FileNotFoundError as exc:
        if missing_ok and not explicit:
            return NotifierSettings()
        raise ConfigError(f"{file}: no such file (set --settings FILE or ${ENV_VAR})") from exc
    settings = parse(data, file.name, file.parent)
    return NotifierSettings(**{**settings.__dict__, "source": file})


def load_settings(args: argparse.Namespace) -> NotifierSettings:
    """The settings named by ``--settings`` (then $FEDBUS_NOTIFIER_CONFIG, the default)."""
    return load(getattr(args, "settings", None))


def amqp_settings(config_path: str | None) -> tuple[list[str], TlsOptions | None, str]:
    """Broker URLs, TLS and the topic prefix from fedbus.toml (``-c``)."""
    cfg = fconfig.load(config_path, missing_ok=True)
    return list(cfg.amqp.effective_urls()), TlsOptions.from_config(cfg.amqp.tls), cfg.topic_prefix


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return "sqlite:///" + str(Path(path).resolve())
