"""``fedbus notifier web --certfile/--keyfile``: HTTPS from gunicorn, clear errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fedbus.errors import FedbusError
from fedbus.notifier.web import cli


def _self_signed(tmp_path: Path, name: str = "web") -> tuple[Path, Path]:
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_no_tls_without_files() -> None:
    assert cli.tls_files(None, None) is None


def test_a_matching_pair(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    assert cli.tls_files(str(cert), str(key)) == (str(cert), str(key))


@pytest.mark.parametrize("which", ["cert", "key"])
def test_both_or_neither(tmp_path: Path, which: str) -> None:
    with pytest.raises(FedbusError, match="go together"):
        cli.tls_files("/c" if which == "cert" else None, "/k" if which == "key" else None)


def test_unreadable_and_mismatched_files(tmp_path: Path) -> None:
    cert, _key = _self_signed(tmp_path)
    _other_cert, other_key = _self_signed(tmp_path, "other")
    with pytest.raises(FedbusError, match="cannot read"):
        cli.tls_files(str(tmp_path / "absent.pem"), str(other_key))
    with pytest.raises(FedbusError) as info:
        cli.tls_files(str(cert), str(other_key))
    assert "\n" not in str(info.value)


def test_gunicorn_gets_the_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gunicorn.app.base import BaseApplication

    seen: dict[str, object] = {}

    def fake_run(self: BaseApplication) -> None:
        seen.update(certfile=self.cfg.certfile, keyfile=self.cfg.keyfile, bind=self.cfg.bind)

    monkeypatch.setattr(BaseApplication, "run", fake_run)
    cli.serve(object(), "0.0.0.0:8443", 1, ("/c.pem", "/k.pem"))
    assert seen == {"certfile": "/c.pem", "keyfile": "/k.pem", "bind": ["0.0.0.0:8443"]}
    cli.serve(object(), "127.0.0.1:8080", 1)
    assert seen["certfile"] is None
