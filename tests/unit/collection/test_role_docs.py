"""docs/roles.md is generated from the roles' argument specs and must not be stale."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_role_docs_are_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-role-docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_role_has_argument_specs_and_defaults():
    for role in sorted((ROOT / "roles").iterdir()):
        assert (role / "meta" / "argument_specs.yml").is_file(), role.name
        assert (role / "defaults" / "main.yml").is_file(), role.name
