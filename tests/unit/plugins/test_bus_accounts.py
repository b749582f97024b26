"""The accounts table -> RabbitMQ permissions filter (plugins/filter/bus_accounts.py).

The regexes it produces are what the broker enforces; they are checked here
against topics the way RabbitMQ applies them (re.search on the routing key).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "filter" / "bus_accounts.py"
_spec = importlib.util.spec_from_file_location("bus_accounts", _PATH)
assert _spec and _spec.loader
bus_accounts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_accounts)

PREFIX = "org.fedoraproject.prod"
PW = "x" * 16


def users(*accounts):
    return bus_accounts.broker_users(list(accounts), PREFIX, "prod")


def topic_write(entry) -> str:
    return entry["topic_permissions"][0]["write_priv"]


@pytest.mark.parametrize(
    ("pattern", "topic", "allowed"),
    [
        ("buildsys.#", "org.fedoraproject.prod.buildsys.build.state.change", True),
        ("buildsys.#", "org.fedoraproject.prod.buildsys", True),
        ("buildsys.#", "org.fedoraproject.prod.git.receive", False),
        ("buildsys.#", "org.fedoraproject.stg.buildsys.build.state.change", False),
        ("buildsys.#", "org.fedoraproject.prod.buildsysx.tag", False),
        ("buildsys.#", "xorg.fedoraproject.prod.buildsys.tag", False),
        ("git.receive", "org.fedoraproject.prod.git.receive", True),
        ("git.receive", "org.fedoraproject.prod.git.receive.extra", False),
        ("mirror.*.sync.complete", "org.fedoraproject.prod.mirror.tier1.sync.complete", True),
        ("mirror.*.sync.complete", "org.fedoraproject.prod.mirror.a.b.sync.complete", False),
    ],
)
def test_publish_patterns(pattern, topic, allowed):
    (entry,) = users({"name": "svc", "password": PW, "publish": [pattern]})
    assert bool(re.search(topic_write(entry), topic)) is allowed


def test_publisher_only_writes_to_the_bus_exchange():
    (entry,) = users({"name": "koji", "password": PW, "publish": ["buildsys.#"]})
    perm = entry["permissions"][0]
    assert perm["vhost"] == "prod"
    assert perm["configure_priv"] == "^$"
    assert re.search(perm["write_priv"], "amq.topic")
    assert not re.search(perm["write_priv"], "amq.direct")
    assert perm["read_priv"] == "^$"
    assert entry["topic_permissions"][0]["read_priv"] == "^$"


def test_consumer_owns_its_queues_only():
    (entry,) = users({"name": "notifier", "password": PW, "consume": ["notifier", "notifier.*"]})
    perm = entry["permissions"][0]
    for queue in ("notifier", "notifier.email", "notifier.irc", "notifier.dlq"):
        assert re.search(perm["configure_priv"], queue)
        assert re.search(perm["read_priv"], queue)
    for queue in ("mirror", "xnotifier", "amq.gen-abc"):
        assert not re.search(perm["configure_priv"], queue)
    assert re.search(perm["read_priv"], "amq.topic")
    assert topic_write(entry) == "^$"
    assert entry["queues"] == ["notifier"]


@pytest.mark.parametrize(
    "account",
    [
        {"name": "notifier", "password": PW, "consume": ["notifier", "notifier.*"]},
        {"name": "operator", "password": PW, "tail": True},
        {"name": "koji", "password": PW, "publish": ["buildsys.#"]},
    ],
)
def test_no_account_writes_the_default_or_dead_letter_exchange(account):
    # a publish to amq.default reaches any queue and topic permissions do not apply there;
    # the headers exchange fedbus.dlx reaches any <queue>.dlq by its x-first-death-queue
    (entry,) = users(account)
    write = entry["permissions"][0]["write_priv"]
    assert not re.search(write, "amq.default")
    assert not re.search(write, "fedbus.dlx")


def test_consumer_reaches_its_own_queues_only_through_the_queue_exchange():
    (entry,) = users({"name": "notifier", "password": PW, "consume": ["notifier", "notifier.*"]})
    assert re.search(entry["permissions"][0]["write_priv"], "fedbus.queues")
    assert re.search(entry["permissions"][0]["read_priv"], "fedbus.queues")
    (queues,) = [t for t in entry["topic_permissions"] if t["exchange"] == "fedbus.queues"]
    for name in ("notifier", "notifier.dlq", "notifier.email", "notifier.email.dlq"):
        assert re.search(queues["write_priv"], name)
        assert re.search(queues["read_priv"], name)
    for name in ("mirror-tier1-a.dlq", "fedbus.bridge", "#", "*.dlq", "xnotifier", "notifierx"):
        assert not re.search(queues["write_priv"], name)
        assert not re.search(queues["read_priv"], name)


def test_publisher_gets_nothing_on_the_queue_exchange():
    (entry,) = users({"name": "koji", "password": PW, "publish": ["buildsys.#"]})
    assert not re.search(entry["permissions"][0]["write_priv"], "fedbus.queues")
    (queues,) = [t for t in entry["topic_permissions"] if t["exchange"] == "fedbus.queues"]
    assert queues["write_priv"] == queues["read_priv"] == "^$"


def test_owned_queue_includes_its_dead_letter_queue_only():
    (entry,) = users({"name": "bridge", "password": PW, "consume": ["fedbus.bridge"]})
    configure = entry["permissions"][0]["configure_priv"]
    assert re.search(configure, "fedbus.bridge.dlq")
    assert not re.search(configure, "fedbus.bridgeXdlq")
    assert not re.search(configure, "fedbus.bridge.other")


def test_tail_account_gets_server_named_queues():
    (entry,) = users({"name": "operator", "password": PW, "tail": True, "tags": ["monitoring"]})
    assert re.search(entry["permissions"][0]["configure_priv"], "amq.gen-Xy12")
    assert entry["tags"] == "monitoring"


def test_read_restricts_binding_keys():
    (entry,) = users(
        {"name": "m", "password": PW, "consume": ["m"], "read": ["netapp.#", "mirror.#"]}
    )
    read = entry["topic_permissions"][0]["read_priv"]
    assert re.search(read, "org.fedoraproject.prod.netapp.snapmirror.in_sync")
    assert not re.search(read, "org.fedoraproject.prod.git.receive")


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ({"name": "Koji", "password": PW}, "account name 'Koji'"),
        ({"name": "koji", "password": "short"}, "12 characters"),
        ({"name": "koji", "password": PW, "publish": ["BuildSys.#"]}, "word 'BuildSys'"),
        ({"name": "koji", "password": PW, "publish": "buildsys.#"}, "publish must be a list"),
        ({"name": "koji", "password": PW, "pubish": []}, "unknown keys ['pubish']"),
        ({"name": "koji", "password": PW, "tags": ["root"]}, "unknown tags ['root']"),
        ({"name": "koji", "password": PW, "consume": ["a b"]}, "queue 'a b'"),
    ],
)
def test_bad_accounts_fail_with_a_clear_message(account, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        users(account)


def test_duplicate_accounts_fail():
    with pytest.raises(AnsibleFilterError, match="appears twice"):
        users({"name": "a", "password": PW}, {"name": "a", "password": PW})


def test_publish_for_all_adds_the_canary_to_publishers_only():
    koji, operator = bus_accounts.broker_users(
        [
            {"name": "koji", "password": PW, "publish": ["buildsys.#"]},
            {"name": "operator", "password": PW, "tail": True},
        ],
        PREFIX,
        "prod",
        publish_for_all=["bus.canary.sent"],
    )
    write = topic_write(koji)
    assert re.search(write, "org.fedoraproject.prod.bus.canary.sent")
    assert re.search(write, "org.fedoraproject.prod.buildsys.tag")
    assert not re.search(write, "org.fedoraproject.prod.bus.queue.created")
    assert not re.search(write, "org.fedoraproject.prod.git.receive")
    # An account that publishes nothing gets no canary right either.
    assert topic_write(operator) == "^$"


def test_publish_for_all_must_be_topic_globs():
    with pytest.raises(AnsibleFilterError, match="publish_for_all"):
        bus_accounts.broker_users(
            [{"name": "koji", "password": PW, "publish": ["buildsys.#"]}],
            PREFIX,
            "prod",
            publish_for_all=[3],
        )


def test_read_queues_grant_reading_a_declared_queue_and_nothing_more():
    (entry,) = users({"name": "operator", "password": PW, "tail": True,
                      "read_queues": ["fedbus.mirror.events"]})
    perms = entry["permissions"][0]
    assert re.search(perms["read_priv"], "fedbus.mirror.events")
    assert not re.search(perms["read_priv"], "fedbus.mirror.eventsX")
    assert not re.search(perms["read_priv"], "fedbusXmirror.events")  # the dots are literal
    for kind in ("configure_priv", "write_priv"):
        assert not re.search(perms[kind], "fedbus.mirror.events"), kind
    assert entry["queues"] == []  # the broker role declares it, not as a consumer queue


@pytest.mark.parametrize("value", [["fedbus.*"], ["a b"], [3], "fedbus.mirror.events"])
def test_read_queues_must_be_queue_names(value):
    with pytest.raises(AnsibleFilterError, match="read_queues"):
        users({"name": "operator", "password": PW, "read_queues": value})
