"""fedbus.settings: strict types, unknown keys at any depth, secrets, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import attrs
import pytest

from fedbus.errors import ConfigError
from fedbus.settings import (
    Invalid,
    Network,
    NonEmpty,
    RelPath,
    Secret,
    at_least,
    read_toml,
    rule,
    structure,
)


def _word(w: str) -> str:
    if " " in w:
        raise ValueError(f"{w!r} has a space")
    return w


@attrs.frozen
class Inner:
    count: Annotated[int, at_least(1)] = 1
    words: tuple[Annotated[str, rule(_word)], ...] = ()
    nets: tuple[Network, ...] = ()


@attrs.frozen
class Outer:
    name: NonEmpty = "x"
    ratio: float = 1.0
    inner: Inner = Inner()
    tables: dict[str, Inner] = attrs.field(factory=dict)
    where: RelPath | None = None
    password: Secret = attrs.field(default="", repr=False, metadata={"key": "password_file"})
    low: int = 0
    high: int = 0

    def __attrs_post_init__(self) -> None:
        if self.low > self.high:
            raise Invalid("must not be above high", key="low")


def _error(data: dict[str, object], base: Path = Path(".")) -> str:
    with pytest.raises(ConfigError) as info:
        structure(Outer, data, "x.toml", base)
    message = str(info.value)
    assert "\n" not in message and message.startswith("x.toml: ")
    return message


def test_defaults_and_values(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\nignored\n")
    out = structure(
        Outer,
        {"ratio": 2, "inner": {"count": 3, "words": ["a"], "nets": ["10.0.0.1/24"]},
         "tables": {"t": {}}, "where": "sub/file", "password_file": "pw"},
        "x.toml",
        tmp_path,
    )  # fmt: skip
    assert out.ratio == 2.0 and isinstance(out.ratio, float)
    assert out.inner.count == 3 and out.inner.words == ("a",)
    assert str(out.inner.nets[0]) == "10.0.0.0/24"
    assert out.tables == {"t": Inner()}
    assert out.where == tmp_path / "sub" / "file"
    assert out.password == "s3cret"
    assert structure(Outer, {}, "x.toml") == Outer()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bogus": 1}, "x.toml: bogus: unknown key (expected one of: high, inner, low, name,"),
        ({"inner": {"bogus": 1}}, "x.toml: inner.bogus: unknown key"),
        ({"tables": {"t": {"bogus": 1}}}, "x.toml: tables.t.bogus: unknown key"),
        ({"inner": {"count": "3"}}, 'x.toml: inner.count: expected an integer >= 1, got "3"'),
        ({"inner": {"count": 0}}, "x.toml: inner.count: expected an integer >= 1, got 0"),
        ({"inner": {"count": True}}, "x.toml: inner.count: expected an integer >= 1, got true"),
        ({"ratio": "1"}, 'x.toml: ratio: expected a number, got "1"'),
        ({"name": " "}, 'x.toml: name: expected a non-empty string, got " "'),
        ({"inner": 3}, "x.toml: inner: expected a table, got 3"),
        ({"tables": []}, "x.toml: tables: expected a table, got []"),
        ({"inner": {"words": "a"}}, 'x.toml: inner.words: expected a list of strings, got "a"'),
        ({"inner": {"words": ["a", "b c"]}}, "x.toml: inner.words[1]: 'b c' has a space"),
        ({"inner": {"nets": ["ten"]}}, "x.toml: inner.nets[0]: 'ten' is not a CIDR"),
        ({"where": ""}, 'x.toml: where: expected a non-empty string, got ""'),
        ({"low": 2, "high": 1}, "x.toml: low: must not be above high"),
    ],
)
def test_errors_are_one_line_naming_the_key(data: dict[str, object], message: str) -> None:
    assert _error(data).startswith(message)


def test_an_unknown_key_is_told_before_other_errors() -> None:
    assert _error({"name": 3, "zz": 1}).startswith("x.toml: zz: unknown key")


def test_secret_file_missing_or_empty(tmp_path: Path) -> None:
    assert _error({"password_file": "absent"}, tmp_path) == (
        f"x.toml: password_file: cannot read {tmp_path / 'absent'}: No such file or directory"
    )
    (tmp_path / "empty").write_text("\n")
    assert _error({"password_file": "empty"}, tmp_path) == (
        f"x.toml: password_file: {tmp_path / 'empty'} is empty"
    )
    assert _error({"password_file": 3}).startswith("x.toml: password_file: expected a file name")


def test_secrets_are_not_in_the_repr(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("hunter2\n")
    out = structure(Outer, {"password_file": "pw"}, "x.toml", tmp_path)
    assert out.password == "hunter2" and "hunter2" not in repr(out)


def test_a_table_inside_a_file_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"^n\.toml: web\.inner\.count: expected"):
        structure(Outer, {"inner": {"count": 0}}, "n.toml", within="web")


def test_read_toml(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_toml(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("a = ")
    with pytest.raises(ConfigError, match=r"^bad\.toml: not valid TOML: "):
        read_toml(bad)
    bad.write_bytes(b"a = '\xff'")
    with pytest.raises(ConfigError, match=r"^bad\.toml: not valid TOML: "):
        read_toml(bad)
