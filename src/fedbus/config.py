"""The configuration file, ``/etc/fedbus/fedbus.toml`` (see docs/configuration.md).

Loaded with :mod:`tomllib` into frozen dataclasses.  Every bad value — a wrong type, a value
out of range, an unknown key — is a :class:`ConfigError` of one line naming the file and the
key: ``fedbus.toml: amqp.heartbeat: expected an integer >= 0, got "x"``.

The file is found from, in order: the ``-c FILE`` option, ``$FEDBUS_CONFIG``,
:data:`DEFAULT_PATH`.
"""

from __future__ import annotations

import json
import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError
from fedbus.message.topic import ENVIRONMENTS, PREFIX, validate_pattern

DEFAULT_PATH = Path("/etc/fedbus/fedbus.toml")
ENV_VAR = "FEDBUS_CONFIG"


@dataclass(frozen=True)
class TlsConfig:
    ca_cert: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify: bool = True


@dataclass(frozen=True)
class AmqpConfig:
    urls: tuple[str, ...] = ("amqp://localhost:5672/%2F",)
    vhost: str | None = None  # overrides the vhost of every URL when set
    heartbeat: int = 60
    tls: TlsConfig | None = None
    # The broker account: its name, and the file holding its password (only the relay's
    # group may read it; it is read when connecting, not when the configuration is loaded).
    user: str | None = None
    password_file: Path | None = None

    def effective_urls(self) -> tuple[str, ...]:
        """The URLs in failover order, with :attr:`vhost` and the account applied.

        Reads :attr:`password_file`: a ConfigError of one line when it cannot.
        """
        urls = tuple(with_vhost(u, self.vhost) for u in self.urls)
        if self.user is None or self.password_file is None:
            return urls
        password = read_password_file(self.password_file, "fedbus.toml: amqp.password_file")
        return tuple(with_account(u, self.user, password) for u in urls)


@dataclass(frozen=True)
class ManagementConfig:
    url: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: Path | None = None


@dataclass(frozen=True)
class RelayConfig:
    spool_dir: Path = Path("/var/spool/fedbus/relay")
    max_bytes: int = 1 << 30
    max_messages: int = 1_000_000
    fsync: bool = True


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    queue: str
    bindings: tuple[str, ...]
    prefetch: int = 10
    # The queue rejected messages go to; default "<queue>.dlq" (what roles/broker declares).
    dead_letter: str = ""


@dataclass(frozen=True)
class Config:
    environment: str = "local"
    topic_prefix: str = "org.fedoraproject.local"
    amqp: AmqpConfig = AmqpConfig()
    management: ManagementConfig = ManagementConfig()
    relay: RelayConfig = RelayConfig()
    consumers: Mapping[str, ConsumerConfig] = field(default_factory=dict)
    source: Path | None = None  # the file it was read from


# -- the small typed readers; ``where`` is "<file>: <dotted key>" ----------------------------


def _got(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _fail(where: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{where}: expected {expected}, got {_got(value)}")


def _str(value: Any, where: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise _fail(where, "a non-empty string", value)
    return value


def _int(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(where, f"an integer >= {minimum}", value)
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def _path(value: Any, where: str) -> Path:
    return Path(_str(value, where))


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "a table", value)
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(where, "a non-empty list of strings", value)
    return tuple(_str(v, f"{where}[{i}]") for i, v in enumerate(value))


def _known(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            prefix = f"{where}." if not where.endswith(": ") else where
            raise ConfigError(
                f"{prefix}{key}: unknown key (expected one of: {', '.join(sorted(allowed))})"
            )


def _url(value: Any, where: str, schemes: tuple[str, ...]) -> str:
    text = _str(value, where)
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise _fail(where, f"a {' or '.join(s + '://' for s in schemes)} URL", value)
    return text


def with_account(url: str, user: str, password: str) -> str:
    """``url`` with ``user:password@`` (quoted) before its host."""
    parts = urllib.parse.urlsplit(url)
    userinfo = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def read_password_file(path: Path, where: str) -> str:
    """The password in ``path`` (its first line, without the line end); ConfigError naming
    ``where`` when the file cannot be read or is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"{where}: cannot read {path}: {reason}") from exc
    password = text.splitlines()[0] if text else ""
    if not password:
        raise ConfigError(f"{where}: {path} is empty")
    return password


def with_vhost(url: str, vhost: str | None) -> str:
    """``url`` with its path replaced by the (quoted) ``vhost``, if one is given."""
    if vhost is None:
        return url
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, safe="")))


# -- sections ---------------------------------------------------------------------------------


def _tls(t: dict[str, Any], w: str) -> TlsConfig:
    _known(t, {"ca_cert", "cert", "key", "verify"}, w)
    opt = {k: _path(t[k], f"{w}.{k}") for k in ("ca_cert", "cert", "key") if k in t}
    if ("cert" in opt) != ("key" in opt):
        raise ConfigError(f"{w}: cert and key go together (set both or neither)")
    return TlsConfig(**opt, verify=_bool(t.get("verify", True), f"{w}.verify"))


def _amqp(t: dict[str, Any], w: str, base: Path) -> AmqpConfig:
    _known(t, {"urls", "vhost", "heartbeat", "tls", "user", "password_file"}, w)
    d = AmqpConfig()
    urls = d.urls
    if "urls" in t:
        urls = tuple(
            _url(u, f"{w}.urls[{i}]", ("amqp", "amqps"))
            for i, u in enumerate(_str_list(t["urls"], f"{w}.urls"))
        )
    if ("user" in t) != ("password_file" in t):
        raise ConfigError(f"{w}: user and password_file go together (set both or neither)")
    user = _str(t["user"], f"{w}.user") if "user" in t else None
    if user is not None:
        for i, u in enumerate(urls):
            if "@" in urllib.parse.urlsplit(u).netloc:
                raise ConfigError(
                    f"{w}.urls[{i}]: carries an account: with amqp.user set, the URLs name "
                    "only the brokers"
                )
    return AmqpConfig(
        urls=urls,
        vhost=_str(t["vhost"], f"{w}.vhost") if "vhost" in t else None,
        heartbeat=_int(t.get("heartbeat", d.heartbeat), f"{w}.heartbeat"),
        tls=_tls(_table(t["tls"], f"{w}.tls"), f"{w}.tls") if "tls" in t else None,
        user=user,
        password_file=(
            base / _path(t["password_file"], f"{w}.password_file") if "password_file" in t
            else None
        ),
    )


def _management(t: dict[str, Any], w: str, base: Path) -> ManagementConfig:
    _known(t, {"url", "user", "password", "password_file", "ca_cert"}, w)
    if "password" in t and "password_file" in t:
        raise ConfigError(f"{w}: set password or password_file, not both")
    password = _str(t["password"], f"{w}.password", empty=True) if "password" in t else None
    if "password_file" in t:
        pf = base / _path(t["password_file"], f"{w}.password_file")
        password = read_password_file(pf, f"{w}.password_file")
    return ManagementConfig(
        url=_url(t["url"], f"{w}.url", ("http", "https")) if "url" in t else None,
        user=_str(t["user"], f"{w}.user") if "user" in t else None,
        password=password,
        ca_cert=_path(t["ca_cert"], f"{w}.ca_cert") if "ca_cert" in t else None,
    )


def _relay(t: dict[str, Any], w: str) -> RelayConfig:
    _known(t, {"spool_dir", "max_bytes", "max_messages", "fsync"}, w)
    d = RelayConfig()
    return RelayConfig(
        spool_dir=_path(t["spool_dir"], f"{w}.spool_dir") if "spool_dir" in t else d.spool_dir,
        max_bytes=_int(t.get("max_bytes", d.max_bytes), f"{w}.max_bytes", 1),
        max_messages=_int(t.get("max_messages", d.max_messages), f"{w}.max_messages", 1),
        fsync=_bool(t.get("fsync", d.fsync), f"{w}.fsync"),
    )


def _consumer(name: str, t: dict[str, Any], w: str) -> ConsumerConfig:
    _known(t, {"queue", "bindings", "prefetch", "dead_letter"}, w)
    if "queue" not in t or "bindings" not in t:
        raise ConfigError(f"{w}: queue and bindings are required")
    queue = _str(t["queue"], f"{w}.queue")
    bindings = _str_list(t["bindings"], f"{w}.bindings")
    for i, b in enumerate(bindings):
        try:
            validate_pattern(b)
        except Exception as exc:
            raise ConfigError(f"{w}.bindings[{i}]: {exc}") from exc
    return ConsumerConfig(
        name=name,
        queue=queue,
        bindings=bindings,
        prefetch=_int(t.get("prefetch", 10), f"{w}.prefetch", 1),
        dead_letter=_str(t.get("dead_letter", f"{queue}.dlq"), f"{w}.dead_letter"),
    )


def parse(data: Mapping[str, Any], name: str = "fedbus.toml", base: Path = Path(".")) -> Config:
    """Build a :class:`Config` from the decoded TOML ``data``; ``name`` prefixes errors and
    ``base`` anchors relative ``password_file`` paths."""
    top = f"{name}: "
    _known(data, {"environment", "topic_prefix", "amqp", "management", "relay", "consumers"}, top)
    env = _str(data.get("environment", "local"), f"{name}: environment")
    if env not in ENVIRONMENTS:
        raise _fail(f"{name}: environment", f"one of {', '.join(ENVIRONMENTS)}", env)
    prefix = _str(data.get("topic_prefix", ".".join((*PREFIX, env))), f"{name}: topic_prefix")
    if prefix.startswith(".") or prefix.endswith(".") or "*" in prefix or "#" in prefix:
        raise _fail(f"{name}: topic_prefix", "dot-separated words", prefix)
    sections = {
        k: _table(data.get(k, {}), f"{name}: {k}")
        for k in ("amqp", "management", "relay", "consumers")
    }
    consumers = {
        cname: _consumer(
            cname, _table(ct, f"{name}: consumers.{cname}"), f"{name}: consumers.{cname}"
        )
        for cname, ct in sections["consumers"].items()
    }
    return Config(
        environment=env,
        topic_prefix=prefix,
        amqp=_amqp(sections["amqp"], f"{name}: amqp", base),
        management=_management(sections["management"], f"{name}: management", base),
        relay=_relay(sections["relay"], f"{name}: relay"),
        consumers=consumers,
    )


def resolve_path(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] = os.environ
) -> tuple[Path, bool]:
    """The file to read and whether it was asked for explicitly (-c or $FEDBUS_CONFIG)."""
    if path:
        return Path(path), True
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR]), True
    return DEFAULT_PATH, False


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
    return Config(**{**cfg.__dict__, "source": file})
