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

Read by the settings layer (:mod:`fedbus.settings`): unknown keys and bad values are
errors of one line naming the file and the key.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Annotated, Any

import attrs
from sqlalchemy.engine import make_url

from fedbus import config as fconfig
from fedbus.client.connect import TlsOptions
from fedbus.errors import ConfigError
from fedbus.notifier.senders.checks import is_addr_spec, is_channel, is_nick
from fedbus.settings import Secret, above, at_least, check, read_toml, structure

DEFAULT_PATH = Path("/etc/fedbus/notifier.toml")
ENV_VAR = "FEDBUS_NOTIFIER_CONFIG"
DEFAULT_DB = "sqlite:////var/lib/fedbus/notifier.db"
QUEUES = {"email": "notifier.email", "irc": "notifier.irc", "digest": "notifier.digest"}

Rate = Annotated[float, above(0)]
Burst = Annotated[int, at_least(1)]
Channel = Annotated[str, check(is_channel, "an IRC channel")]


def _database_url(url: str) -> bool:
    try:
        make_url(url)
    except Exception:
        return False
    return True


def _no_slash(url: str) -> str:
    return url.rstrip("/")


@attrs.frozen
class EmailSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: Secret = attrs.field(default="", repr=False, metadata={"key": "password_file"})
    sender: Annotated[str, check(is_addr_spec, "a bare address (sender)")] = (
        "notifications@fedoraproject.org"
    )
    timeout: float = 30.0
    max_attempts: int = 8
    user_rate: Rate = 1.0
    user_burst: Burst = 100


@attrs.frozen
class IrcSettings:
    host: str = "localhost"
    port: int = 6667
    nick: Annotated[str, check(is_nick, "an IRC nick (nick)")] = "fedbus-notify"
    password: Secret = attrs.field(default="", repr=False, metadata={"key": "password_file"})
    timeout: float = 30.0
    channels: tuple[Channel, ...] = ()
    destination_rate: Rate = 0.2
    destination_burst: Burst = 10
    user_rate: Rate = 0.5
    user_burst: Burst = 30


@attrs.frozen
class NotifierSettings:
    database_url: Annotated[str, check(_database_url, "a database URL")] = DEFAULT_DB
    # the content of database_password_file, put into database_url (then emptied)
    database_password: Secret = attrs.field(
        default="", repr=False, metadata={"key": "database_password_file"}
    )
    base_url: str = attrs.field(default="http://localhost:8080", converter=_no_slash)
    queue: str = "notifier"
    bindings: tuple[str, ...] = ()
    prefetch: int = 50
    email: EmailSettings = EmailSettings()
    irc: IrcSettings = IrcSettings()
    # the [web] table, kept raw: fedbus.notifier.web.settings reads it (and its secrets)
    web: dict[str, Any] = attrs.field(factory=dict)
    source: Path | None = attrs.field(default=None, metadata={"omit": True})

    def __attrs_post_init__(self) -> None:
        if self.database_password:
            url = make_url(self.database_url).set(password=self.database_password)
            object.__setattr__(self, "database_url", url.render_as_string(hide_password=False))
            object.__setattr__(self, "database_password", "")


def parse(
    data: dict[str, Any], name: str = "notifier.toml", base: Path = Path(".")
) -> NotifierSettings:
    """Build the settings from the decoded TOML ``data``; ``name`` prefixes errors and
    ``base`` anchors the relative names of the password files."""
    return structure(NotifierSettings, data, name, base)


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
    return attrs.evolve(parse(data, file.name, file.parent), source=file)


def load_settings(args: argparse.Namespace) -> NotifierSettings:
    """The settings named by ``--settings`` (then $FEDBUS_NOTIFIER_CONFIG, the default)."""
    return load(getattr(args, "settings", None))


def amqp_settings(config_path: str | None) -> tuple[list[str], TlsOptions | None, str]:
    """Broker URLs, TLS and the topic prefix from fedbus.toml (``-c``)."""
    cfg = fconfig.load(config_path, missing_ok=True)
    return list(cfg.amqp.effective_urls()), TlsOptions.from_config(cfg.amqp.tls), cfg.topic_prefix


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return "sqlite:///" + str(Path(path).resolve())
