"""Zabbix's alert script: NUL-separated ``name=value`` arguments."""

import atheris

with atheris.instrument_imports(include=["fedbus"]):
    from fedbus.errors import ValidationError
    from fedbus.wedges import zabbix
    from fedbus.wedges.base import Sink

from atheris_lib import SPOOL, main

TARGET = Sink(spool_dir=SPOOL)


def one_input(data: bytes) -> None:
    argv = data.decode("utf-8", "surrogateescape").split("\0")
    try:
        zabbix.message(TARGET, argv)
    except ValidationError as exc:
        assert "\n" not in str(exc), str(exc)


if __name__ == "__main__":
    main(one_input)
