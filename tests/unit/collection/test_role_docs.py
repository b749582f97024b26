"""docs/roles.md is generated from the roles' argument specs and must not be stale."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

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


def _readme_example(role: Path) -> list:
    text = (role / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) == 1, f"{role.name}/README.md: one ```yaml example play"
    return yaml.safe_load(blocks[0])


def test_every_role_has_a_readme_linking_its_variables():
    for role in sorted((ROOT / "roles").iterdir()):
        text = (role / "README.md").read_text()
        assert text.startswith(f"# fedora.bus.{role.name}\n"), role.name
        assert f"(../../docs/roles.md#{role.name})" in text, role.name
        assert f"## `{role.name}`" in (ROOT / "docs" / "roles.md").read_text()


def test_readme_examples_use_the_roles_argument_specs():
    specs = {
        role.name: yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())[
            "argument_specs"
        ]["main"]
        for role in (ROOT / "roles").iterdir()
    }
    for role in sorted((ROOT / "roles").iterdir()):
        (play,) = _readme_example(role)
        names = [entry["role"] for entry in play["roles"]]
        assert f"fedora.bus.{role.name}" in names, role.name
        for entry in play["roles"]:
            spec = specs[entry["role"].removeprefix("fedora.bus.")]
            options = spec.get("options", {})
            given = set(entry.get("vars", {}))
            unknown = given - set(options)
            assert not unknown, f"{role.name}/README.md: {entry['role']} has no {unknown}"
            required = {name for name, option in options.items() if option.get("required")}
            assert required <= given, f"{role.name}/README.md: {entry['role']} needs {required}"
