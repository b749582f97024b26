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


def _dependencies(role: str) -> list[str]:
    """The role and the roles it depends on (meta/main.yml), dependencies first."""
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    deps = [d["role"] if isinstance(d, dict) else d for d in meta.get("dependencies") or []]
    chain: list[str] = []
    for dep in deps:
        chain += [r for r in _dependencies(dep.removeprefix("fedora.bus.")) if r not in chain]
    return [*chain, role]


def test_readme_examples_use_the_roles_argument_specs():
    """Each README's play runs its role (itself or as a dependency), and the variables it
    sets (play vars and role vars) are options of the roles that run, the required ones
    all set."""
    specs = {
        role.name: yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())[
            "argument_specs"
        ]["main"].get("options", {})
        for role in (ROOT / "roles").iterdir()
    }
    for role in sorted((ROOT / "roles").iterdir()):
        (play,) = _readme_example(role)
        play_vars = set(play.get("vars", {}))
        running: list[str] = []
        for entry in play["roles"]:
            running += [r for r in _dependencies(entry["role"].removeprefix("fedora.bus."))
                        if r not in running]
        assert role.name in running, role.name
        known = {name for r in running for name in specs[r]}
        for entry in play["roles"]:
            given = set(entry.get("vars", {}))
            options = specs[entry["role"].removeprefix("fedora.bus.")]
            unknown = given - set(options)
            assert not unknown, f"{role.name}/README.md: {entry['role']} has no {unknown}"
        assert not play_vars - known, f"{role.name}/README.md: no role takes {play_vars - known}"
        given_all = play_vars | {v for e in play["roles"] for v in e.get("vars", {})}
        for r in running:
            required = {name for name, option in specs[r].items() if option.get("required")}
            assert required <= given_all, f"{role.name}/README.md: {r} needs {required - given_all}"
