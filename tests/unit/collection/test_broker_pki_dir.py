"""The broker role makes its controller-side PKI directory without closing its parents.

`make up` runs roles/broker/tasks/tls.yml (its tls_ca.yml), whose PKI directory is
.cache/pki/<env> (FEDBUS_PKI_DIR). A single file task with mode 0700 would give the
missing .cache/ and .cache/pki/ that mode too, and the integration tests' RabbitMQ node
(user rabbitmq) could not boot after `make up`. This runs the role's own
directory tasks, read from tls_ca.yml, on localhost against temporary paths.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
TLS_TASKS = ROOT / "roles" / "broker" / "tasks" / "tls_ca.yml"


def _pki_dir_block() -> dict:
    """The controller block of tls_ca.yml, keeping only its directory tasks."""
    for task in yaml.safe_load(TLS_TASKS.read_text()):
        names = [t.get("name") for t in task.get("block", [])]
        if "Create the PKI directory" in names:
            block = dict(task)
            block["block"] = [
                t
                for t in task["block"]
                if t.get("ansible.builtin.file", {}).get("state") == "directory"
            ]
            return block
    raise AssertionError(f"no block with a task 'Create the PKI directory' in {TLS_TASKS}")


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_pki_directory_is_private_and_its_parents_are_not(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh" / ".cache" / "pki" / "local"  # what a fresh clone's make up makes
    kept = tmp_path / "kept" / ".cache" / "pki" / "local"  # a parent that exists is left alone
    kept.parent.mkdir(parents=True)
    kept.parent.chmod(0o750)
    tmp_path.joinpath("fresh").mkdir()
    plays = [
        {
            "name": "the broker role's PKI directory tasks",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "broker_tls_mode": "collection_ca",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            },
            "tasks": [
                {**_pki_dir_block(), "vars": {"broker_pki_dir": str(fresh)}},
                {**_pki_dir_block(), "vars": {"broker_pki_dir": str(kept)}},
            ],
        }
    ]
    playbook = tmp_path / "pki.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        capture_output=True,
        text=True,
        umask=0o022,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    assert _mode(fresh) == "0o700"  # holds the CA key
    assert _mode(fresh.parent) == "0o755"  # .cache/pki
    assert _mode(fresh.parent.parent) == "0o755"  # .cache: user rabbitmq must traverse it
    assert _mode(kept) == "0o700"
    assert _mode(kept.parent) == "0o750"  # not loosened either
