"""Settings of the notification server's web UI and REST API.

They are the ``[web]`` table of the notifier's settings file (``/etc/fedbus/notifier.toml``,
see :mod:`fedbus.notifier.settings`, written by ``roles/notifier``); ``database_url`` and
``base_url`` come from its top level::

    [web]
    secret_key_file = "/etc/fedbus/notifier-secret-key"
    trusted_proxies = ["127.0.0.1/32", "10.3.0.0/24"]   # who may set the user header
    remote_user_header = "X-Remote-User"
    local_login = true                                   # `local` and `publictest` only
    admin_user = "admin"
    admin_password_file = "/etc/fedbus/notifier-admin-password"
    session_hours = 12                # a login cookie's lifetime (also ended by logout,
                                      # a password change or the account's deletion)
    login_window = 900                # seconds over which failed logins are counted
    login_limit_address = 20          # failed logins per client address in that window
    login_limit_account = 10          # failed logins per account name in that window
    verify_window = 3600              # seconds over which verification messages count
    verify_limit_destination = 3      # messages to one address/nick (all users together)
    verify_limit_user = 10            # messages one user may have sent

Past a limit the login answers 429 with ``Retry-After`` (the password is not checked),
and so does the API; the web UI says so.  The counters are in the database: shared by
every gunicorn worker.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError
from fedbus.notifier import settings as notifier_settings
from fedbus.notifier.settings import NotifierSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: positive integer settings and their defaults
LIMITS: dict[str, int] = {
    "session_hours": 12,
    "login_window": 900,
    "login_limit_address": 20,
    "login_limit_account": 10,
    "verify_window": 3600,
    "verify_limit_destination": 3,
    "verify_limit_user": 10,
}
KEYS = {
    "database_url",
    "base_url",
    "secret_key",
    "secret_key_file",
    "trusted_proxies",
    "remote_user_header",
    "local_login",
    "admin_user",
    "admin_password",
    "admin_password_file",
    "title",
    *LIMITS,
}


@dataclass(frozen=True)
class WebSettings:
    database_url: str = "sqlite:///notifier.db"
    base_url: str = "http://localhost:8080"
    secret_key: str = ""
    trusted_proxies: tuple[Network, ...] = ()
    remote_user_header: str = "X-Remote-User"
    local_login: bool = False
    admin_user: str = "admin"
    admin_password: str = ""  # empty: no local admin
    title: str = "Fedora Notifications"
    limits: dict[str, int] = field(default_factory=lambda: dict(LIMITS))
    extra: dict[str, Any] = field(default_factory=dict)

    def trusts(self, address: str | None) -> bool:
        """Whether a request from ``address`` may name its user in the header."""
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)


def _read_secret(path: str, where: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from exc


def parse(data: dict[str, Any], name: str = "notifier.toml: web") -> WebSettings:
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"{name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    nets: list[Network] = []
    for item in data.get("trusted_proxies", []):
        try:
            nets.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError as exc:
            raise ConfigError(f"{name}: trusted_proxies: {item!r} is not a CIDR") from exc
    secret = str(data.get("secret_key", ""))
    if not secret and data.get("secret_key_file"):
        secret = _read_secret(str(data["secret_key_file"]), f"{name}: secret_key_file")
    admin_pw = str(data.get("admin_password", ""))
    if not admin_pw and data.get("admin_password_file"):
        admin_pw = _read_secret(str(data["admin_password_file"]), f"{name}: admin_password_file")
    local_login = data.get("local_login", False)
    if not isinstance(local_login, bool):
        raise ConfigError(f"{name}: local_login: expected true or false, got {local_login!r}")
    limits = {key: _positive(data, key, default, name) for key, default in LIMITS.items()}
    if not secret:
        raise ConfigError(f"{name}: secret_key or secret_key_file is required")
    return WebSettings(
        database_url=str(data.get("database_url", WebSettings.database_url)),
        base_url=str(data.get("base_url", WebSettings.base_url)).rstrip("/"),
        secret_key=secret,
        trusted_proxies=tuple(nets),
        remote_user_header=str(data.get("remote_user_header", "X-Remote-User")),
        local_login=local_login,
        admin_user=str(data.get("admin_user", "admin")),
        admin_password=admin_pw,
        title=str(data.get("title", WebSettings.title)),
        limits=limits,
    )


def _positive(data: dict[str, Any], key: str, default: int, name: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: {key}: expected a positive integer, got {value!r}")
    return value


def from_notifier(ns: NotifierSettings) -> WebSettings:
    """The web settings of the notifier settings ``ns`` (its ``[web]`` table)."""
    name = f"{ns.source.name if ns.source else 'notifier.toml'}: web"
    base = ns.source.parent if ns.source else Path(".")
    data = dict(ns.web)
    for key in ("secret_key_file", "admin_password_file"):
        if data.get(key):
            data[key] = str(base / str(data[key]))
    data.setdefault("database_url", ns.database_url)
    data.setdefault("base_url", ns.base_url)
    return parse(data, name)


def load(path: str | os.PathLike[str] | None = None) -> WebSettings:
    return from_notifier(notifier_settings.load(path, missing_ok=False))
