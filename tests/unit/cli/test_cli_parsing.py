"""The command line's argument types: one wording for every count and every duration."""

from __future__ import annotations

import argparse

import pytest

from fedbus.cli.parsing import positive_float, positive_int


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("500", 500), (" 7 ", 7)])
def test_positive_int_takes_whole_numbers_from_one(text: str, value: int) -> None:
    assert positive_int(text) == value


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "", "ten", "nan"])
def test_positive_int_refuses_the_rest_in_one_wording(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as exc:
        positive_int(text)
    assert str(exc.value) == f"expected a whole number >= 1, got {text!r}"


@pytest.mark.parametrize(("text", "value"), [("0.5", 0.5), ("30", 30.0), ("1e3", 1000.0)])
def test_positive_float_takes_finite_numbers_above_zero(text: str, value: float) -> None:
    assert positive_float(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "", "soon"])
def test_positive_float_refuses_the_rest_in_one_wording(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as exc:
        positive_float(text)
    assert str(exc.value) == f"expected a number > 0, got {text!r}"


@pytest.mark.parametrize("argv", [
    ["relay", "--window", "0"], ["relay", "--max-nacks", "-1"],
    ["stat", "--warning", "0"], ["tail", "--count", "x"],
    ["dlq", "notifier", "--limit", "0"], ["notifier", "digest", "--interval", "0"],
    ["notifier", "worker", "--concurrency", "0"],
])
def test_every_count_option_refuses_zero_in_one_line(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from fedbus.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.splitlines()) == 1, err
    assert "expected a " in err
