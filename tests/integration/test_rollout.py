"""playbooks/rollout.yml driven for real, with stand-in environments and steps.

The stand-ins (tests/integration/rollout/): three one-host inventories named like
the real environments (the host is the controller itself), and a stand-in
playbook per step that appends "<env> <step> check=… diff=… converge=… secret=…"
to a record file and fails where ``rollout_test_fail`` says. stg's inventory holds
a value encrypted for the vault identity ``stg`` only: it can be read only if
rollout.yml passes that identity on. Every step is a real nested ansible-playbook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "rollout"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ALL_STEPS = [
    (env, step) for env in ("publictest", "stg", "prod") for step in ("broker", "site", "canary")
]


@dataclass
class Run:
    rc: int
    output: str
    record: list[str]
    log_root: Path

    def steps(self) -> list[tuple[str, str]]:
        return [(line.split()[0], line.split()[1]) for line in self.record]

    def field(self, line: str, name: str) -> str:
        return dict(w.split("=", 1) for w in line.split()[2:])[name]

    def logs(self) -> list[Path]:
        return sorted(self.log_root.glob("*/*.log"))


def rollout(tmp_path: Path, **extra: object) -> Run:
    record = tmp_path / "record.txt"
    log_root = tmp_path / "logs"
    variables: dict[str, object] = {
        "rollout_inventory_dir": str(STANDINS / "inventories"),
        "rollout_broker_playbook": str(STANDINS / "playbooks" / "broker.yml"),
        "rollout_site_playbook": str(STANDINS / "playbooks" / "site.yml"),
        "rollout_canary_playbook": str(STANDINS / "playbooks" / "canary.yml"),
        "rollout_vault_ids": {"stg": f"stg@{STANDINS / 'stg-vault-password.txt'}"},
        "rollout_extra_args": ["-e", f"rollout_test_record={record}"],
    }
    fail = extra.pop("fail", None)
    if fail:
        variables["rollout_extra_args"] = [
            *variables["rollout_extra_args"],  # type: ignore[misc]
            "-e",
            f"rollout_test_fail={fail}",
        ]
    variables.update(extra)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(os.environ)
    env.pop("ANSIBLE_VAULT_IDENTITY_LIST", None)  # only what rollout.yml passes on
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        FEDBUS_ROLLOUT_LOG_DIR=str(log_root),
    )
    proc = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-i",
            "localhost,",
            str(ROOT / "playbooks" / "rollout.yml"),
            "-e",
            f"@{vars_file}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = record.read_text().splitlines() if record.exists() else []
    return Run(proc.returncode, proc.stdout + proc.stderr, lines, log_root)


def test_environments_in_order_each_verified_before_the_next(tmp_path):
    run = rollout(tmp_path)
    assert run.rc == 0, run.output[-3000:]
    assert run.steps() == ALL_STEPS
    # The broker step applies the role node by node; the others get no such flag.
    assert [run.field(line, "converge") for line in run.record] == ["true", "-", "-"] * 3
    assert all(run.field(line, "check") == "False" for line in run.record)
    # stg's step could read its vault-encrypted value: the identity was passed on.
    assert [run.field(line, "secret") for line in run.record][3:6] == ["opened-with-stg"] * 3
    # One log per step, named in order, in the directory the play printed.
    logs = run.logs()
    assert [p.name for p in logs] == [
        f"{n:02d}-{env}-{step}.log" for n, (env, step) in enumerate(ALL_STEPS, start=1)
    ]
    assert f"logs: {logs[0].parent}" in run.output
    assert "Stand-in for the canary step" in logs[-1].read_text()


def test_a_failing_step_in_stg_stops_the_rollout_before_prod(tmp_path):
    run = rollout(tmp_path, fail="stg:site")
    assert run.rc != 0
    assert run.steps() == ALL_STEPS[:5]  # publictest x3, stg broker, stg site: no prod
    assert "stg site failed, the rollout stops here" in run.output
    logs = run.logs()
    assert [p.name for p in logs][-1] == "05-stg-site.log"
    assert "injected failure in stg site" in logs[-1].read_text()
    assert "injected failure in stg site" in run.output  # the log's end is shown


def test_check_mode_reaches_every_step(tmp_path):
    run = rollout(tmp_path, rollout_check=True, rollout_environments=["stg"])
    assert run.rc == 0, run.output[-3000:]
    assert run.steps() == ALL_STEPS[3:6]
    for line in run.record:
        assert run.field(line, "check") == "True", line
        assert run.field(line, "diff") == "True", line
    assert "in check mode (--check --diff)" in run.output


def test_an_unknown_environment_fails_before_anything_runs(tmp_path):
    run = rollout(tmp_path, rollout_environments=["publictest", "staging"])
    assert run.rc != 0
    assert run.record == []
    assert not run.log_root.exists()
    assert "unknown: staging" in run.output
