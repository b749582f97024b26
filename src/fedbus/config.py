"""The configuration file, ``/etc/fedbus/fedbus.toml`` (see docs/configuration.md).

Read by the settings layer (:mod:`fedbus.settings`) into the frozen attrs classes below.
Every bad value — a wrong type, a value out of range, an unknown key — is a
:class:`ConfigError` of one line naming the file and the key:
``fedbus.toml: amqp.heartbeat: expected an integer >= 0, got "x"``.

The file is found from, in order: the ``-c FILE`` option, ``$FEDBUS_CONFIG``,
:data:`DEFAULT_PATH`.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import attrs

from fedbus.errors import ConfigError
from fedbus.message.topic import ENVIRONMENTS, PREFIX, validate_pattern
from fedbus.settings import (
    Invalid,
    NonEmpty,
    RelPath,
    Secret,
    at_least,
    check,
    one_of,
    read_password_file,
    read_toml,
    rule,
    structure,
    url,
)

DEFAULT_PATH = Path("/etc/fedbus/fedbus.toml")
ENV_VAR = "FEDBUS_CONFIG"

AmqpUrl = Annotated[str, url("amqp", "amqps")]
Pattern = Annotated[str, rule(validate_pattern)]
Words = Annotated[
    str,
    check(lambda p: not (p.startswith(".") or p.endswith(".") or "*" in p or "#" in p),
          "dot-separated words"),
]  # fmt: skip


def _non_empty(expected: str) -> Any:
    return check(bool, expected)


@attrs.frozen
class TlsConfig:
    ca_cert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify: bool = True

    def __attrs_post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise Invalid("cert and key go together (set both or neither)")


@attrs.frozen
class AmqpConfig:
    urls: Annotated[tuple[AmqpUrl, ...], _non_empty("a non-empty list of strings")] = (
        "amqp://localhost:5672/%2F",
    )
    vhost: NonEmpty | None = None  # overrides the vhost of every URL when set
    heartbeat: Annotated[int, at_least(0)] = 60
    tls: TlsConfig | None = None
    # The broker account: its name, and the file holding its password (only the relay's
    # group may read it; it is read when connecting, not when the configuration is loaded).
    user: NonEmpty | None = None
    password_file: RelPath | None = None

    def __attrs_post_init__(self) -> None:
        if (self.user is None) != (self.password_file is None):
            raise Invalid("user and password_file go together (set both or neither)")
        if self.user is not None:
            for i, u in enumerate(self.urls):
                if "@" in urllib.parse.urlsplit(u).netloc:
                    raise Invalid(
                        "carries an account: with amqp.user set, the URLs name only the brokers",
                        key=f"urls[{i}]",
                    )

    def effective_urls(self) -> tuple[str, ...]:
        """The URLs in failover order, with :attr:`vhost` and the account applied.

        Reads :attr:`password_file`: a ConfigError of one line when it cannot.
        """
        urls = tuple(with_vhost(u, self.vhost) for u in self.urls)
        if self.user is None or self.password_file is None:
            return urls
        password = read_password_file(self.password_file, "fedbus.toml: amqp.password_file")
        return tuple(with_account(u, self.user, password) for u in urls)


@attrs.frozen
class ManagementConfig:
    url: Annotated[str, url("http", "https")] | None = None
    user: NonEmpty | None = None
    password: str | None = attrs.field(default=None, repr=False)
    # the content of ``password_file`` (read when the file is loaded), merged into password
    password_from_file: Secret | None = attrs.field(
        default=None, repr=False, metadata={"key": "password_file"}
    )
    ca_cert: Path | None = None

    def __attrs_post_init__(self) -> None:
        if self.password is not None and self.password_from_file is not None:
            raise Invalid("set password or password_file, not both")
        if self.password_from_file is not None:
            object.__setattr__(self, "password", self.password_from_file)


@attrs.frozen
class RelayConfig:
    spool_dir: Path = Path("/var/spool/fedbus/relay")
    max_bytes: Annotated[int, at_least(1)] = 1 << 30
    max_messages: Annotated[int, at_least(1)] = 1_000_000
    fsync: bool = True


@attrs.frozen
class ConsumerConfig:
    queue: NonEmpty
    bindings: Annotated[tuple[Pattern, ...], _non_empty("a non-empty list of strings")]
    prefetch: Annotated[int, at_least(1)] = 10
    # The queue rejected messages go to; default "<queue>.dlq" (what roles/broker declares).
    dead_letter: NonEmpty = attrs.field(
        default=attrs.Factory(lambda self: f"{self.queue}.dlq", takes_self=True)
    )
    name: str = attrs.field(default="", metadata={"omit": True})  # its key in [consumers]


@attrs.frozen
class Config:
    environment: Annotated[str, one_of(ENVIRONMENTS)] = "local"
    topic_prefix: Words = attrs.field(
        default=attrs.Factory(lambda self: ".".join((*PREFIX, self.environment)), takes_self=True)
    )
    amqp: AmqpConfig = AmqpConfig()
    management: ManagementConfig = ManagementConfig()
    relay: RelayConfig = RelayConfig()
    consumers: Mapping[str, ConsumerConfig] = attrs.field(factory=dict)
    source: Path | None = attrs.field(default=None, metadata={"omit": True})  # the file read

    def __attrs_post_init__(self) -> None:
        for name, consumer in self.consumers.items():
            object.__setattr__(consumer, "name", name)


def with_account(url: str, user: str, password: str) -> str:
    """``url`` with ``user:password@`` (quoted) before its host."""
    parts = urllib.parse.urlsplit(url)
    userinfo = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def with_vhost(url: str, vhost: str | None) -> str:
    """``url`` with its path replaced by the (quoted) ``vhost``, if one is given."""
    if vhost is None:
        return url
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def parse(data: Mapping[str, Any], name: str = "fedbus.toml", base: Path = Path(".")) -> Config:
    """Build a :class:`Config` from the decoded TOML ``data``; ``name`` prefixes errors and
    ``base`` anchors relative ``password_file`` paths."""
    return structure(Config, data, name, base)


def resolve_path(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] = os.environ
) -> tuple[Path, bool]:
    """The file to read and whether it was asked for explicitly (-c or $FEDBUS_CONFIG)."""
    if path:
        return Path(path), True
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR]), True
    return DEFAULT_PATH, False


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    missing_ok: bool = False,
    environ: Mapping[str, str] = os.environ,
) -> Config:
    """Read the configuration.  When no file was named and the default one does not exist,
    ``missing_ok`` returns the defaults (environment ``local``) instead of failing."""
    file, explicit = resolve_path(path, environ)
    try:
        data = read_toml(file)
    except FileNotFoundError as exc:
        if missing_ok and not explicit:
            return Config()
        raise ConfigError(f"{file}: no such file (set -c FILE or ${ENV_VAR})") from exc
    cfg = parse(data, file.name, file.parent)
    return attrs.evolve(cfg, source=file)
