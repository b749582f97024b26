"""Property-based tests: topic names and schema validation (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedbus.errors import ValidationError
from fedbus.message import catalog
from fedbus.message.envelope import decode, encode, new_message
from fedbus.message.topic import (
    ENVIRONMENTS,
    build_topic,
    split_topic,
    topic_matches,
    validate_topic,
)

WORD = st.from_regex(r"[a-z0-9_-]{1,10}", fullmatch=True)
ENV = st.sampled_from(ENVIRONMENTS)
TAIL = st.lists(WORD, min_size=3, max_size=6)  # category, object, …, event


@given(ENV, TAIL)
def test_valid_topics(env: str, words: list[str]) -> None:
    topic = build_topic(env, *words)
    assert validate_topic(topic) == topic == f"org.fedoraproject.{env}.{'.'.join(words)}"
    assert split_topic(topic) == (env, words[0], tuple(words[1:]))


BAD_CHARS = st.sampled_from([*"ABZ *#/é:@!", "\t", "\u00a0"])


@given(ENV, TAIL, st.data())
def test_a_bad_word_is_named(env: str, words: list[str], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(words) - 1))
    ch = data.draw(BAD_CHARS)
    pos = data.draw(st.integers(0, len(words[i])))
    words[i] = words[i][:pos] + ch + words[i][pos:]
    topic = "org.fedoraproject." + env + "." + ".".join(words)
    with pytest.raises(ValidationError) as info:
        validate_topic(topic)
    assert "\n" not in str(info.value)
    assert repr(words[i]) in str(info.value)


@given(ENV, TAIL, st.data())
def test_an_empty_word_is_refused(env: str, words: list[str], data: st.DataObject) -> None:
    words.insert(data.draw(st.integers(0, len(words))), "")
    with pytest.raises(ValidationError, match="''"):
        validate_topic("org.fedoraproject." + env + "." + ".".join(words))


@given(st.sampled_from(["dev", "production", "", "PROD"]), TAIL)
def test_unknown_environment(env: str, words: list[str]) -> None:
    with pytest.raises(ValidationError):
        validate_topic(f"org.fedoraproject.{env}.{'.'.join(words)}")


@given(ENV, st.lists(WORD, min_size=0, max_size=2))
def test_too_short(env: str, words: list[str]) -> None:
    with pytest.raises(ValidationError):
        validate_topic(".".join(["org", "fedoraproject", env, *words]))


def _reference(pattern: list[str], words: list[str]) -> bool:
    """A slow, obviously-right AMQP matcher (recursive)."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_reference(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _reference(rest, words[1:])


PATTERN_WORD = st.one_of(st.sampled_from(["*", "#"]), st.sampled_from(["a", "b", "c"]))


@given(st.lists(PATTERN_WORD, min_size=1, max_size=6), st.lists(st.sampled_from("abc"), max_size=7))
def test_topic_matches_agrees_with_reference(pattern: list[str], words: list[str]) -> None:
    topic = ".".join(words)
    assert topic_matches(".".join(pattern), topic) == _reference(pattern, topic.split("."))


@given(ENV, TAIL, st.data())
def test_a_topic_matches_its_generalisations(
    env: str, words: list[str], data: st.DataObject
) -> None:
    topic = build_topic(env, *words)
    parts = topic.split(".")
    assert topic_matches(topic, topic) and topic_matches("#", topic)
    i = data.draw(st.integers(0, len(parts) - 1))
    assert topic_matches(".".join([*parts[:i], "*", *parts[i + 1 :]]), topic)
    j = data.draw(st.integers(i, len(parts)))
    assert topic_matches(".".join([*parts[:i], "#", *parts[j:]]), topic)
    assert not topic_matches(".".join([*parts[:i], "X", *parts[i + 1 :]]), topic)


# -- schemas ---------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for the small JSON Schema subset fedbus schemas use."""
    types = schema.get("type", "string")
    if isinstance(types, list):
        return st.one_of(*(from_schema({**schema, "type": t}) for t in types))
    if types == "null":
        return st.none()
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if types == "number":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if types == "array":
        unique = bool(schema.get("uniqueItems"))
        items = from_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=3, unique=unique)
    if "pattern" in schema:
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 64)
        regex = st.from_regex(schema["pattern"], fullmatch=True)
        return regex.filter(lambda s: lo <= len(s) <= hi)
    if types == "boolean":
        return st.booleans()
    if types == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if types == "object" and "properties" in schema:
        required = schema.get("required", [])
        props = schema["properties"]
        return st.fixed_dictionaries(
            {k: from_schema(props[k]) for k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
    if types == "object":
        return st.dictionaries(WORD, TEXT, max_size=3)
    return TEXT.filter(lambda s: len(s) >= schema.get("minLength", 0))


def wrong_value(schema: dict[str, Any]) -> Any:
    types = schema.get("type")
    types = set(types if isinstance(types, list) else [types])
    for candidate in ([1, 2], {"x": 1}, 1.5, "text", True, None):
        kind = {
            list: "array",
            dict: "object",
            float: "number",
            str: "string",
            bool: "boolean",
            type(None): "null",
        }[type(candidate)]
        if kind not in types:
            return candidate
    raise AssertionError(schema)


ENTRIES = catalog.entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_generated_bodies_validate_and_mutants_do_not(
    entry: catalog.Entry, data: st.DataObject
) -> None:
    schema = entry.body_schema
    topic = entry.example_topic("prod") or ""
    body = data.draw(from_schema(schema))
    msg = new_message(topic, body, schema=entry.cls)
    enc = encode(msg)
    assert decode(enc.routing_key, enc.body, enc.properties).body == body
    assert "\n" not in msg.summary

    # an open schema (Pungi's: it adds keys over time) takes any extra key; a schema that
    # requires nothing has nothing to drop
    mutations = ["retype"]
    if schema["required"]:
        mutations.append("drop")
    if schema.get("additionalProperties") is False:
        mutations.append("extra")
    mutation = data.draw(st.sampled_from(mutations))
    if mutation == "retype" and not body:
        return  # nothing to retype
    mutant = dict(body)
    if mutation == "drop":
        mutant.pop(data.draw(st.sampled_from(schema["required"])))
    elif mutation == "retype":
        key = data.draw(st.sampled_from(sorted(body)))
        mutant[key] = wrong_value(schema["properties"][key])
    else:
        mutant["not_in_schema"] = 1
    with pytest.raises(ValidationError) as info:
        new_message(topic, mutant, schema=entry.cls)
    assert str(info.value).startswith(entry.name + ": ") and "\n" not in str(info.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(TEXT, JSON, max_size=4), st.sampled_from([10, 20, 30, 40]))
def test_envelope_round_trip(body: dict[str, Any], severity: int) -> None:
    import json

    msg = new_message(
        "org.fedoraproject.local.test.thing.done", body, schema="base.message", severity=severity
    )
    enc = encode(msg)
    assert enc.body == json.dumps(body).encode("utf-8")  # fedora-messaging's exact bytes
    back = decode(enc.routing_key, enc.body, enc.properties.to_dict())
    assert back.body == body and back.severity == severity and back == msg
    assert encode(back) == enc
