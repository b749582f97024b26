"""No role puts a secret on a command line (``ps`` shows every process's arguments to every
user of the host).  A secret may reach a command only on its standard input or in a file.

The roles' task files are read as YAML; a task is flagged when a secret variable appears in
the arguments of a command-running module, or is handed to a module known to pass it to a
command (``community.rabbitmq.rabbitmq_user`` runs ``rabbitmqctl change_password <user>
<password>`` and ``authenticate_user``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SECRET = re.compile(r"password|secret|_key\b|token", re.IGNORECASE)
COMMANDS = {"ansible.builtin.command", "ansible.builtin.shell", "command", "shell",
            "ansible.builtin.raw", "raw"}  # fmt: skip
# modules that put what they are given on a command line
PASS_TO_COMMAND = {"community.rabbitmq.rabbitmq_user": {"password"}}


def tasks(items: object) -> Iterator[dict]:
    if not isinstance(items, list):
        return
    for task in items:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks(task.get(key))


def role_tasks() -> Iterator[tuple[str, dict]]:
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")):
        for task in tasks(yaml.safe_load(path.read_text())):
            yield f"{path.relative_to(ROOT)}: {task.get('name')}", task


def offences(task: dict) -> list[str]:
    found = []
    for module in COMMANDS & set(task):
        args = task[module]
        argv = args if isinstance(args, str) else {k: v for k, v in args.items() if k != "stdin"}
        for var in re.findall(r"\{\{(.*?)\}\}", yaml.safe_dump(argv)):
            if SECRET.search(var):
                found.append(f"{module} gets {var.strip()} in its arguments")
    for module, keys in PASS_TO_COMMAND.items():
        args = task.get(module) or {}
        found += [f"{module} puts {k} on rabbitmqctl's command line" for k in keys if k in args]
    return found


@pytest.mark.parametrize(("where", "task"), list(role_tasks()), ids=lambda v: str(v)[:60])
def test_no_secret_on_a_command_line(where: str, task: dict) -> None:
    assert not offences(task), where


def test_the_check_itself_catches_both_kinds() -> None:
    assert offences({"community.rabbitmq.rabbitmq_user": {"user": "a", "password": "{{ p }}"}})
    line = "rabbitmqctl change_password a {{ broker_admin_password }}"
    assert offences({"ansible.builtin.command": line})
    assert offences({"ansible.builtin.command": {"argv": ["x", "{{ vault_token }}"]}})
    on_stdin = {"argv": ["x"], "stdin": "{{ broker_admin_password }}"}
    assert not offences({"ansible.builtin.command": on_stdin})
