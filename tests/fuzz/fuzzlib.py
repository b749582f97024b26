"""What the fuzz tests share: the hypothesis profile, spool snapshots, JSON strategies.

Every target is run with a temporary spool; :func:`snapshot` is what the spool holds
(absent, or its files and message count), so a test proves "nothing was written" by
comparing two snapshots.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (derandomize: the same examples on every run, no database) and bounded.
# FEDBUS_FUZZ_EXAMPLES_SCALE multiplies every test's examples (default 1: the CI budget).
SCALE = float(os.environ.get("FEDBUS_FUZZ_EXAMPLES_SCALE", "1"))
settings.register_profile(
    "fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
settings.load_profile("fuzz")


def examples(n: int) -> settings:
    """``@examples(200)``: the test's share of the budget."""
    return settings(max_examples=max(1, int(n * SCALE)))


Snapshot = tuple[bool, tuple[str, ...], int]


def snapshot(spool: Path) -> Snapshot:
    """(exists, files, messages) of a spool directory, read without writing to it."""
    if not spool.exists():
        return (False, (), 0)
    files = tuple(
        sorted(
            str(p.relative_to(spool))
            for p in spool.rglob("*")
            if not p.name.endswith(("-wal", "-shm"))
        )
    )
    db = spool / "spool.sqlite3"
    if not db.exists():
        return (True, files, 0)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        count = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        con.close()
    return (True, files, count)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def logged(name: str = "fedbus") -> Iterator[list[str]]:
    """The formatted log lines of logger ``name`` (tracebacks included) while inside."""
    handler = Lines()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def assert_one_line_each(lines: list[str]) -> None:
    for line in lines:
        assert "\n" not in line and "Traceback" not in line, line


# JSON values as json.loads returns them (no NaN: a parser must refuse those anyway).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def mutated_json(value: Any) -> st.SearchStrategy[str]:
    """``value`` as JSON text, then with a few characters inserted, replaced or cut."""
    text = json.dumps(value)

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        out = text
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(out)))
            kind = draw(st.sampled_from(("insert", "cut", "replace")))
            piece = draw(
                st.sampled_from(
                    (
                        '"',
                        "{",
                        "}",
                        "[",
                        "]",
                        ",",
                        ":",
                        "\\",
                        "NaN",
                        "\x00",
                        "\ud800",
                        "1e999",
                        "-",
                        " ",
                    )
                )
                | st.text(max_size=3)
            )
            if kind == "insert":
                out = out[:i] + piece + out[i:]
            elif kind == "cut":
                out = out[:i] + out[i + draw(st.integers(1, 8)) :]
            else:
                out = out[:i] + piece + out[i + len(piece) :]
        return out

    return mutate()
