"""NetApp: the SnapMirror records an ONTAP filer answers (JSON list), through the watcher."""

import json

import atheris

with atheris.instrument_imports(include=["fedbus"]):
    from fedbus.errors import ValidationError
    from fedbus.wedges import netapp
    from fedbus.wedges.base import Sink

from atheris_lib import SPOOL, main


def one_input(data: bytes) -> None:
    try:
        records = json.loads(data.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return
    if not isinstance(records, list):
        return
    netapp.lag_seconds(records[0] if records else None)
    w = netapp.Watcher("http://filer.invalid", "filer", Sink(spool_dir=SPOOL))
    for rec in records:
        if not isinstance(rec, dict):
            continue
        now_in = w.in_sync(rec)
        try:
            w.message(rec, now_in, "2026-12-07T07:00:00+00:00")
        except ValidationError as exc:  # a body the schema refuses: skipped, one line
            assert "\n" not in str(exc), str(exc)


if __name__ == "__main__":
    main(one_input)
