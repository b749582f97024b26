"""The mirror's path hints (``paths`` of netapp/tier1 messages, from third-party tier-1s).

Property: :func:`paths.from_body` returns None (the whole tree) or a collapsed set of clean
relative paths that rsync's ``--files-from`` takes, or raises ValidationError.
"""

from __future__ import annotations

from fuzzlib import examples, json_values
from hypothesis import example, given
from hypothesis import strategies as st

from fedbus.errors import ValidationError
from fedbus.mirror import paths, rsync

words = st.sampled_from(
    [
        "pub",
        "fedora",
        "linux",
        "..",
        ".",
        "",
        "-x",
        "a b",
        "\\",
        "é",
        "\ud800",
        "\n",
        "\0",
        "*",
        "~",
    ]
) | st.text(max_size=6)
hints = st.lists(words, min_size=1, max_size=6).map("/".join) | st.text(max_size=30)
bodies = st.none() | st.lists(hints, max_size=30) | json_values


def _check(got: paths.Paths) -> None:
    if got is None:
        return
    assert len(got) <= paths.MAX_PATHS
    for p in got:
        assert p and not p.startswith("/") and ".." not in p.split("/")
        assert not ({"\n", "\r", "\0"} & set(p)) and "//" not in p
        assert not any(q != p and p.startswith(q + "/") for q in got), (p, got)
    rsync.command("rsync://tier0.example.org/fedora", "/srv/mirror", got)


@examples(600)
@given(bodies)
@example(["\ud800"])
@example(["pub/../../etc"])
def test_from_body_is_clean_paths_or_a_validation_error(value: object) -> None:
    try:
        got = paths.from_body(value)
    except ValidationError as exc:
        assert "\n" not in str(exc).replace("\\n", "")
        return
    _check(got)


@examples(200)
@given(st.lists(hints, max_size=20), st.lists(hints, max_size=20), st.integers(1, 30))
def test_union_of_accepted_sets_is_accepted(a: list[str], b: list[str], limit: int) -> None:
    try:
        pa, pb = paths.collapse(a, limit), paths.collapse(b, limit)
    except ValidationError:
        return
    got = paths.union(pa, pb, limit)
    if got is not None:
        assert len(got) <= limit
        _check(got)
