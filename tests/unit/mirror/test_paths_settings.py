"""Changed-path validation and mirror.toml: bad input is a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedbus.errors import ConfigError, ValidationError
from fedbus.mirror import settings
from fedbus.mirror.paths import clean, from_body


@pytest.mark.parametrize("bad", ["/etc", "a/../../etc", "..", "a\nb", ""])
def test_unsafe_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        clean(bad)


def test_from_body() -> None:
    assert from_body(None) is None
    assert from_body([]) is None
    assert from_body(["a/", "a/b"]) == frozenset({"a"})
    with pytest.raises(ValidationError):
        from_body("a")


GOOD = {"mode": "tier2", "name": "t2a", "volume": "pub", "tree": "/srv/pub",
        "upstream": "rsync://t1a/pub", "upstream_name": "t1a", "full_sync_interval": 60}


def test_settings_parse(tmp_path: Path) -> None:
    f = tmp_path / "mirror.toml"
    f.write_text('[mirror]\nmode = "master"\nname = "m"\nvolume = "pub"\ntree = "/srv"\n')
    s = settings.load(f)
    assert s.mode == "master" and s.queue_name == "mirror-m" and s.hold_timeout == 3600
    s2 = settings.parse({"mirror": GOOD})
    assert s2.full_sync_interval == 60.0 and s2.hold_timeout == 60.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "tier3"}, "mirror.mode: expected one of master, tier1, tier2"),
        ({"upstream": "host::pub"}, "mirror.upstream: mode tier2 needs an rsync://"),
        ({"upstream_name": ""}, "mirror.upstream_name: mode tier2 needs"),
        ({"full_sync_interval": 0}, "mirror.full_sync_interval: expected a number > 0"),
        ({"rsync_args": "-v"}, "mirror.rsync_args: expected a list of strings"),
        ({"colour": 1}, "mirror.colour: unknown key"),
        ({"name": "Big Name"}, "mirror.name: topic mirror name"),
    ],
)
def test_settings_errors_name_the_key(change: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings.parse({"mirror": {**GOOD, **change}})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_settings_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        settings.load(tmp_path / "nope.toml")
