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
is a one-line :class:`ConfigError` naming the file and the key (:mod:`fedbus.settings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import attrs

from fedbus.errors import ConfigError
from fedbus.message.topic import check_word
from fedbus.settings import Invalid, NonEmpty, above, at_least, one_of, read_toml, rule, structure

DEFAULT_PATH = Path("/etc/fedbus/mirror.toml")
MODES = ("master", "tier1", "tier2")

Seconds = Annotated[float, above(0)]
MirrorName = Annotated[NonEmpty, rule(lambda n: check_word(n.replace(".", "-"), "mirror name"))]


@attrs.frozen
class MirrorSettings:
    mode: Annotated[NonEmpty, one_of(MODES)]
    name: MirrorName
    volume: NonEmpty
    tree: Path
    upstream: str = ""
    upstream_name: str = ""
    queue: str = ""
    full_sync_interval: Seconds = 3600.0
    # default: full_sync_interval
    hold_timeout: Seconds = attrs.field(
        default=attrs.Factory(lambda self: self.full_sync_interval, takes_self=True)
    )
    retry_initial: Seconds = 5.0
    retry_max: Seconds = 300.0
    rsync_timeout: Annotated[int, at_least(0)] = 600
    rsync_args: tuple[str, ...] = ()
    scan_interval: Seconds = 2.0
    quiet_period: Seconds = 3.0
    announce_on_start: bool = True
    abort_on_upstream_change: bool = False

    def __attrs_post_init__(self) -> None:
        if self.mode != "master" and not self.upstream.startswith("rsync://"):
            raise Invalid(f"mode {self.mode} needs an rsync://host/module URL", key="upstream")
        if self.mode == "tier2" and not self.upstream_name:
            raise Invalid("mode tier2 needs the name of its tier-1", key="upstream_name")

    @property
    def queue_name(self) -> str:
        return self.queue or f"mirror-{self.name}"


@attrs.frozen
class MirrorFile:
    """The whole file: one required ``[mirror]`` table."""

    mirror: MirrorSettings


def parse(data: dict[str, object], name: str = "mirror.toml") -> MirrorSettings:
    return structure(MirrorFile, data, name).mirror


def load(path: str | Path | None = None) -> MirrorSettings:
    file = Path(path) if path else DEFAULT_PATH
    try:
        data = read_toml(file)
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: no such file (set --mirror-config FILE)") from exc
    return parse(data, file.name)
