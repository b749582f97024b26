"""galaxy.yml: the declared dependencies cover every collection the content calls,
and ``ansible-galaxy collection build`` leaves local state and tooling out.

The build takes about a second, so the real build is checked here (on a copy of
the tracked files plus files that must stay out); scripts/sanity.sh builds the
working tree itself too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())

# Collections that need no declaration: ansible-core's own, and this one.
BUILTIN = {"ansible.builtin", "ansible.legacy", "fedora.bus"}

# Paths (relative to the collection root) that must never be in the tarball.
MUST_EXCLUDE = [
    ".venv/bin/python",
    ".cache/pki/local/ca.key",
    ".cache/check-prod/site-check.log",
    "build/lib/fedbus/__init__.py",
    "dist/fedbus-0.1.0-py3-none-any.whl",
    "fedbus.egg-info/PKG-INFO",
    "src/fedbus.egg-info/PKG-INFO",
    "src/fedbus/__pycache__/__init__.cpython-311.pyc",
    "src/fedbus-messages/build/lib/fedbus_messages/bus.py",
    "src/fedbus-messages/fedbus_messages.egg-info/PKG-INFO",
    "src/fedbus-messages/fedbus_messages/__pycache__/bus.cpython-311.pyc",
    "plugins/modules/__pycache__/rabbitmq_accounts.cpython-311.pyc",
    "tests/output/.tmp/sanity.log",
    "tests/unit/test_galaxy.py",
    "benchmarks/results/raw/publish_throughput.json",
    "molecule/default/molecule.yml",
    "scripts/sanity.sh",
    ".pytest_cache/README.md",
    ".ruff_cache/CACHEDIR.TAG",
    "fedora-bus-0.0.9.tar.gz",
    "inventories/local/vault-password.txt",
]

# What the roles read on the controller: the content, and the fedbus source from
# which roles/runtime builds the wheels (fedbus and fedbus-messages).
MUST_INCLUDE = [
    "MANIFEST.json",
    "README.md",
    "meta/runtime.yml",
    "plugins/modules/rabbitmq_accounts.py",
    "plugins/filter/bus_accounts.py",
    "playbooks/site.yml",
    "roles/runtime/tasks/wheelhouse.yml",
    "roles/broker/README.md",
    "pyproject.toml",
    "requirements/runtime.txt",
    "src/fedbus/__init__.py",
    "src/fedbus-messages/pyproject.toml",
    "src/fedbus-messages/fedbus_messages/bus.py",
]

_KEYWORDS = {"block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"}
_FQCN = r"[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+"
# Plugins named inside values: connection, lookups, filters, tests.
_IN_TEXT = [
    re.compile(rf"connection:\s*({_FQCN})"),
    re.compile(rf"(?:lookup|query|q)\(\s*['\"]({_FQCN})"),
    re.compile(rf"\|\s*({_FQCN})"),
    re.compile(rf"\bis\s+(?:not\s+)?({_FQCN})"),
]


def _task_fqcns(node: object) -> set[str]:
    """Module/action names of the tasks (and plays) under a parsed YAML document."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _task_fqcns(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and re.fullmatch(_FQCN, key):
                found.add(key)
            elif key in _KEYWORDS:
                found |= _task_fqcns(value)
    return found


def _content_files() -> list[Path]:
    files = [*ROOT.glob("roles/*/tasks/**/*.yml"), *ROOT.glob("roles/*/handlers/*.yml")]
    files += ROOT.glob("playbooks/**/*.yml")
    return sorted(files)


def used_collections() -> dict[str, set[str]]:
    """collection -> the files that use it (tasks, playbooks, inventories, templates)."""
    used: dict[str, set[str]] = {}

    def note(fqcn: str, path: Path) -> None:
        used.setdefault(".".join(fqcn.split(".")[:2]), set()).add(str(path.relative_to(ROOT)))

    for path in _content_files():
        for fqcn in _task_fqcns(yaml.safe_load(path.read_text())):
            note(fqcn, path)
    texts = [
        *_content_files(),
        *ROOT.glob("inventories/**/*.yml"),
        *ROOT.glob("roles/*/templates/**/*"),
    ]
    for path in texts:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for pattern in _IN_TEXT:
            for fqcn in pattern.findall(text):
                note(fqcn, path)
    return used


def test_the_scan_finds_what_the_roles_use():
    used = used_collections()
    assert any(f.startswith("roles/broker/tasks/tls") for f in used["community.crypto"])
    assert "roles/notifier/tasks/database.yml" in used["community.postgresql"]
    assert "fedora.bus" in used  # the accounts filter


def test_every_used_collection_is_a_dependency():
    declared = set(GALAXY["dependencies"])
    missing = {c: sorted(f) for c, f in used_collections().items() if c not in declared | BUILTIN}
    assert not missing, f"used but not in galaxy.yml's dependencies: {missing}"


def test_every_dependency_is_used_and_has_a_bounded_range():
    used = set(used_collections())
    for name, spec in GALAXY["dependencies"].items():
        assert name in used, f"{name} is declared but nothing uses it"
        assert re.fullmatch(r">=\d+\.\d+\.\d+,<\d+\.0\.0", spec), f"{name}: {spec!r}"


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Names in the tarball built from git's files (tracked, or new and not ignored)
    plus every MUST_EXCLUDE path."""
    galaxy_bin = Path(sys.executable).parent / "ansible-galaxy"
    if not galaxy_bin.exists():
        pytest.skip("ansible-galaxy is not in this virtualenv")
    tree = tmp_path_factory.mktemp("collection") / "bus"
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name)
    for name in MUST_EXCLUDE:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("must stay out\n")
    out = tree.parent / "out"
    subprocess.run(
        [str(galaxy_bin), "collection", "build", "--output-path", str(out), str(tree)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("fedora-bus-*.tar.gz")
    with tarfile.open(built) as tar:
        return {member.name for member in tar.getmembers()}


@pytest.mark.parametrize("name", MUST_EXCLUDE)
def test_build_leaves_out(tarball: set[str], name: str):
    assert name not in tarball
    top = name.split("/")[0]
    if top not in {"src", "plugins", "inventories", "tests"}:
        assert top not in tarball, f"directory {top}/ is in the tarball"


@pytest.mark.parametrize("name", MUST_INCLUDE)
def test_build_keeps(tarball: set[str], name: str):
    assert name in tarball
