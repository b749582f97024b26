"""The catalog: every fedbus schema is registered, documented, and its example validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from fedora_messaging import message as fm

from fedbus.errors import ValidationError
from fedbus.message import catalog
from fedbus.message.envelope import decode, encode, new_message
from fedbus.message.topic import topic_matches, validate_topic

ROOT = Path(__file__).resolve().parents[3]
NAMES = [e.name for e in catalog.entries()]


def test_bus_schemas_are_registered() -> None:
    assert {
        "fedbus.bus.canary.v1",
        "fedbus.bus.connection.created.v1",
        "fedbus.bus.connection.closed.v1",
        "fedbus.bus.user.authentication.failure.v1",
        "fedbus.bus.queue.created.v1",
        "fedbus.bus.queue.deleted.v1",
    } <= set(NAMES)


def test_foreign_schemas_are_listed_read_only() -> None:
    foreign = [e for e in catalog.entries(include_foreign=True) if not e.is_fedbus]
    assert "base.message" in [e.name for e in foreign]
    assert all(e.topic_pattern is None and e.example is None for e in foreign)


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_complete_and_example_validates(name: str) -> None:
    entry = catalog.get(name)
    assert name.startswith("fedbus.") and name.rsplit(".", 1)[1].startswith("v")
    assert entry.description and entry.summary_template and entry.example
    topic = entry.example_topic("stg")
    assert topic is not None and validate_topic(topic)
    assert entry.topic_pattern and topic_matches(entry.topic_pattern, topic)
    # fedora-messaging resolves the same class from the name
    assert fm.get_class(name) is entry.cls and fm.get_name(entry.cls) == name
    msg = new_message(topic, entry.example)  # the catalog picks the schema from the topic
    assert type(msg) is entry.cls
    back = decode(*_wire(msg))
    assert back.body == entry.example and type(back) is entry.cls
    assert "?" not in back.summary and "\n" not in back.summary
    for field in entry.user_fields:
        if entry.example.get(field):
            assert entry.example[field] in back.usernames


def _wire(msg: fm.Message) -> tuple[str, bytes, object]:
    enc = encode(msg)
    return enc.routing_key, enc.body, enc.properties


def test_user_headers_for_filtering() -> None:
    entry = catalog.get("fedbus.bus.connection.created.v1")
    enc = encode(new_message(entry.example_topic("prod") or "", entry.example))
    assert enc.properties.headers["fedora_messaging_user_koji"] is True


def test_url_from_body() -> None:
    entry = catalog.get("fedbus.bus.queue.created.v1")
    msg = new_message(entry.example_topic("prod") or "", entry.example)
    assert msg.url == entry.example["url"]
    body = {k: v for k, v in entry.example.items() if k != "url"}
    assert new_message(entry.example_topic("prod") or "", body).url is None


def test_unknown_topic_and_schema() -> None:
    with pytest.raises(ValidationError, match="no schema in the catalog"):
        new_message("org.fedoraproject.stg.nothing.here.happened", {})
    with pytest.raises(ValidationError, match="unknown schema"):
        catalog.get("fedbus.nope.v1")


def test_docs_are_current() -> None:
    """docs/messages.md is generated: run `fedbus catalog --markdown > docs/messages.md`."""
    page = ROOT / "docs" / "messages.md"
    assert page.read_text() == catalog.markdown(), "docs/messages.md is stale; regenerate it"


def test_the_most_specific_pattern_names_the_schema() -> None:
    # pungi.compose.status.change matches its own schema and the catch-all pungi.compose.#
    body = {"compose_id": "C-1", "status": "FINISHED"}
    topic = "org.fedoraproject.prod.pungi.compose.status.change"
    assert type(new_message(topic, body)) is catalog.get(
        "fedbus.pungi.compose.status.change.v1").cls
    other = new_message("org.fedoraproject.prod.pungi.compose.image.build.done", body)
    assert fm.get_name(type(other)) == "fedbus.pungi.compose.action.v1"
