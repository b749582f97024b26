"""``fedbus catalog`` through the real entry point (in-process)."""

from __future__ import annotations

import json

import pytest

from fedbus.cli.main import main
from fedbus.message import catalog


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SCHEMA", "TOPIC", "SUMMARY"]
    line = next(x for x in out if x.startswith("fedbus.bus.queue.created.v1 "))
    assert "org.fedoraproject.*.bus.queue.created" in line
    assert "base.message" not in "\n".join(out)


def test_list_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--all"]) == 0
    assert "base.message" in capsys.readouterr().out


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "show", "fedbus.bus.canary.v1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["topic"] == "org.fedoraproject.*.bus.canary.sent"
    assert shown["example"]["origin"]
    assert shown["body_schema"]["required"] == ["origin", "nonce", "sent_at"]


def test_show_unknown_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "show", "nope.v1"]) == 1
    err = capsys.readouterr().err
    assert err == "fedbus: error: unknown schema 'nope.v1'\n"


def test_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--markdown"]) == 0
    assert capsys.readouterr().out == catalog.markdown()


def test_misuse_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["catalog", "show"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "fedbus catalog show: error: the following arguments are required: name "
        "(see fedbus catalog show --help)\n"
    )
