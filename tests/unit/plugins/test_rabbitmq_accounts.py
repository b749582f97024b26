"""Password comparison of plugins/modules/rabbitmq_accounts.py against RabbitMQ's hash format.

RabbitMQ stores base64(salt + H(salt + password)) with a 4-byte random salt (its
rabbit_password_hashing_* modules); the module must recognise an unchanged password under
each algorithm the broker may report, and treat anything else as changed.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "plugins" / "modules" / "rabbitmq_accounts.py"
_spec = importlib.util.spec_from_file_location("rabbitmq_accounts", _PATH)
assert _spec and _spec.loader
mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mod)


def stored(password: str, hasher: object, salt: bytes = b"\x01\x02\x03\x04") -> str:
    return base64.b64encode(salt + hasher(salt + password.encode()).digest()).decode()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("algorithm", "hasher"),
    [
        ("rabbit_password_hashing_sha256", hashlib.sha256),
        ("rabbit_password_hashing_sha512", hashlib.sha512),
        ("rabbit_password_hashing_md5", hashlib.md5),
    ],
)
def test_same_password_matches_other_does_not(algorithm: str, hasher: object) -> None:
    h = stored("s3cret-pässword", hasher)
    assert mod.password_matches("s3cret-pässword", h, algorithm)
    assert not mod.password_matches("s3cret-password", h, algorithm)


def test_unknown_algorithm_empty_or_garbled_hash_count_as_changed() -> None:
    h = stored("pw", hashlib.sha256)
    assert not mod.password_matches("pw", h, "rabbit_password_hashing_bcrypt")
    assert not mod.password_matches("pw", "", "rabbit_password_hashing_sha256")
    assert not mod.password_matches("pw", "not base64!", "rabbit_password_hashing_sha256")


def test_tags_compare_as_sets() -> None:
    assert mod.tag_set("management,monitoring") == mod.tag_set(["monitoring", "management"])
    assert mod.tag_set("") == mod.tag_set([]) == []


def test_plan_user_asks_only_for_the_differences() -> None:
    sha = "rabbit_password_hashing_sha256"
    entry = {"user": "relay/x", "password": "pw", "tags": "",
             "permissions": [{"vhost": "/fedbus", "configure_priv": "^$",
                              "write_priv": "^amq\\.topic$", "read_priv": "^$"}],
             "topic_permissions": [], "queues": []}  # fmt: skip
    new = mod.plan_user(entry, None, {}, {})
    assert [(m, p) for m, p, _ in new] == [("PUT", "/users/relay%2Fx"),
                                           ("PUT", "/permissions/%2Ffedbus/relay%2Fx")]  # fmt: skip
    have = {"tags": [], "password_hash": stored("pw", hashlib.sha256), "hashing_algorithm": sha}
    same = {"/fedbus": ("^$", "^amq\\.topic$", "^$")}
    assert mod.plan_user(entry, have, same, {}) == []
    extra = {**same, "/other": (".*", ".*", ".*")}
    assert mod.plan_user(entry, have, extra, {}) == [
        ("DELETE", "/permissions/%2Fother/relay%2Fx", None)]  # fmt: skip
    changed = mod.plan_user({**entry, "password": "new"}, have, same, {})
    assert changed == [("PUT", "/users/relay%2Fx", {"password": "new", "tags": ""})]
