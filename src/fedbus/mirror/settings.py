"""``/etc/fedbus/mirror.toml``: what a mirror agent mirrors and from where.

```toml
[mirror]
mode = "tier1"                      # master | tier1 | tier2
name = "dl01"                       # this mirror's name in messages; queue mirror-<name>
volume = "fedora-pub"               # the tree's name in messages (NetApp volume / module)
tree = "/srv/mirror/fedora-pub"     # where the tree is on this host
upstream = "rsync://master.example.org/fedora-pub"   # tier1, tier2: where to pull from
upstream_name = "master"            # tier2: the tier-1 it follows; tier1: the master (optional)
full_sync_interval = 3600           # seconds between safety-net full pulls
```

The broker URLs, TLS, topic prefix and relay spool come from ``fedbus.toml``.  Every bad value
is a one-line :class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError
from fedbus.message.topic import check_word

DEFAULT_PATH = Path("/etc/fedbus/mirror.toml")
MODES = ("master", "tier1", "tier2")


@dataclass(frozen=True)
class MirrorSettings:
    mode: str
    name: str
    volume: str
    tree: Path
    upstream: str = ""
    upstream_name: str = ""
    queue: str = ""
    full_sync_interval: float = 3600.0
    hold_timeout: float = 3600.0
    retry_initial: float = 5.0
    retry_max: float = 300.0
    rsync_timeout: int = 600
    rsync_args: tuple[str, ...] = ()
    scan_interval: float = 2.0
    quiet_period: float = 3.0
    announce_on_start: bool = True
    abort_on_upstream_change: bool = False

    @property
    def queue_name(self) -> str:
        return self.queue or f"mirror-{self.name}"


_NUMBERS = {"full_sync_interval", "hold_timeout", "retry_initial", "retry_max",
            "scan_interval", "quiet_period"}
_KEYS = {"mode", "name", "volume", "tree", "upstream", "upstream_name", "queue",
         "rsync_timeout", "rsync_args", "announce_on_start", "abort_on_upstream_change",
         *_NUMBERS}


def parse(data: dict[str, Any], name: str = "mirror.toml") -> MirrorSettings:
    if set(data) - {"mirror"}:
        raise ConfigError(f"{name}: unknown table(s) {', '.join(sorted(set(data) - {'mirror'}))}")
    t = data.get("mirror")
    if not isinstance(t, dict):
        raise ConfigError(f"{name}: a [mirror] table is required")
    w = f"{name}: mirror"
    unknown = set(t) - _KEYS
    if unknown:
        raise ConfigError(f"{w}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("mode", "name", "volume", "tree"):
        if not isinstance(t.get(key), str) or not t[key].strip():
            raise ConfigError(f"{w}.{key}: expected a non-empty string, got {t.get(key)!r}")
    if t["mode"] not in MODES:
        raise ConfigError(f"{w}.mode: expected one of {', '.join(MODES)}, got {t['mode']!r}")
    kw: dict[str, Any] = {}
    for key in ("upstream", "upstream_name", "queue"):
        if key in t:
            if not isinstance(t[key], str):
                raise ConfigError(f"{w}.{key}: expected a string, got {t[key]!r}")
            kw[key] = t[key]
    if t["mode"] != "master" and not kw.get("upstream", "").startswith("rsync://"):
        raise ConfigError(f"{w}.upstream: mode {t['mode']} needs an rsync://host/module URL")
    if t["mode"] == "tier2" and not kw.get("upstream_name"):
        raise ConfigError(f"{w}.upstream_name: mode tier2 needs the name of its tier-1")
    for key in _NUMBERS & set(t):
        v = t[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
            raise ConfigError(f"{w}.{key}: expected a number > 0, got {v!r}")
        kw[key] = float(v)
    if "rsync_timeout" in t:
        v = t["rsync_timeout"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{w}.rsync_timeout: expected an integer >= 0, got {v!r}")
        kw["rsync_timeout"] = v
    if "rsync_args" in t:
        v = t["rsync_args"]
        if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
            raise ConfigError(f"{w}.rsync_args: expected a list of strings, got {v!r}")
        kw["rsync_args"] = tuple(v)
    for key in ("announce_on_start", "abort_on_upstream_change"):
        if key in t:
            if not isinstance(t[key], bool):
                raise ConfigError(f"{w}.{key}: expected true or false, got {t[key]!r}")
            kw[key] = t[key]
    kw.setdefault("hold_timeout", kw.get("full_sync_interval", 3600.0))
    try:
        check_word(t["name"].replace(".", "-"), "mirror name")
    except Exception as exc:
        raise ConfigError(f"{w}.name: {exc}") from exc
    return MirrorSettings(mode=t["mode"], name=t["name"], volume=t["volume"],
                          tree=Path(t["tree"]), **kw)


def load(path: str | Path | None = None) -> MirrorSettings:
    file = Path(path) if path else DEFAULT_PATH
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: no such file (set --mirror-config FILE)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file.name}: not valid TOML: {exc}") from exc
    return parse(data, file.name)
