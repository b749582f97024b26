"""Pungi's notification: the first line is the action, the rest stdin (JSON)."""

import atheris

with atheris.instrument_imports(include=["fedbus"]):
    from fedbus.errors import ValidationError
    from fedbus.wedges import pungi
    from fedbus.wedges.base import Sink

from atheris_lib import SPOOL, main
from fuzzlib import snapshot

TARGET = Sink(spool_dir=SPOOL)


def one_input(data: bytes) -> None:
    action, _, stdin = data.decode("utf-8", "surrogateescape").partition("\n")
    try:
        pungi.message(TARGET, action, stdin)
    except ValidationError as exc:
        assert "\n" not in str(exc), str(exc)
    assert snapshot(SPOOL) == (False, (), 0)


if __name__ == "__main__":
    main(one_input)
