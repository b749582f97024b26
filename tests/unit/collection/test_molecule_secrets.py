"""The molecule scenarios' vault fixture never shows a secret in a test report."""

from __future__ import annotations

import json

from bus_testlib import Secrets


def test_the_secrets_repr_names_keys_only_at_every_level() -> None:
    secrets = Secrets({"vault_admin": "s3cret", "vault_passwords": {"koji": "k0ji"}})
    shown = repr(secrets) + str(secrets) + repr([secrets]) + repr(secrets["vault_passwords"])
    assert "s3cret" not in shown and "k0ji" not in shown
    assert "vault_admin" in shown and "koji" in shown
    # the values are still there for the tests that use them
    assert secrets["vault_passwords"]["koji"] == "k0ji"
    assert json.loads(json.dumps(secrets))["vault_admin"] == "s3cret"
