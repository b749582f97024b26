"""The ``fedbus`` entry point imports only the subcommand it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fedbus.cli.main import COMMANDS, build_parser, commands_for


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["publish", "org.x.y", "{}"], ("publish",)),
        (["-v", "-c", "tail", "relay", "run"], ("relay",)),  # "tail" is -c's value
        (["--config", "/etc/x.toml", "stat"], ("stat",)),
        (["--config=/etc/x.toml", "catalog"], ("catalog",)),
        (["--help"], COMMANDS),
        ([], COMMANDS),
        (["nope"], COMMANDS),
    ],
)
def test_commands_for(argv: list[str], expected: tuple[str, ...]) -> None:
    assert commands_for(argv) == expected


def test_every_command_is_still_listed_in_help() -> None:
    help_text = build_parser().format_help()
    for name in COMMANDS:
        assert name in help_text


def test_publish_does_not_import_the_notifier_stack() -> None:
    code = (
        "import sys\n"
        "from fedbus.cli.main import build_parser, commands_for\n"
        "build_parser(commands_for(['publish', 'x']))\n"
        "print(sorted(m for m in ('sqlalchemy', 'flask') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
