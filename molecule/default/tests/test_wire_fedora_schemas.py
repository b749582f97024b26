"""Every message the whole-bus run put on the wire decodes as a Fedora consumer decodes it.

The conftest's recorder kept every message of the environment from the first check on
(Koji builds, git pushes, the mirror tiers, the NetApp watcher, broker events, canaries,
notifier verifications…).  This check runs last (file order) and hands them to
``fedora_schemas_check.py`` in a virtualenv of its own holding only fedora-messaging,
Fedora's schema packages at the runtime pins, and the fedbus-messages distribution built
from this tree — not fedbus: 0 unknown schemas, 0 invalid messages.  The summary is kept in
tests/output/molecule-default/wire-schemas.json.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bus_browser import output_dir
from bus_testlib import ROOT

testinfra_hosts = ["bus-notifier"]

#: Fedora's own schema packages (and fedora-messaging) at the pins fedbus runs with
FEDORA_PACKAGES = ("fedora_messaging", "koji-fedoramessaging-messages",
                   "fedora-messaging-git-hook-messages", "bodhi-messages", "noggin-messages",
                   "bugzilla2fedmsg-schema")
VENV = ROOT / ".cache" / "fedora-schemas-venv"
CHECK = ROOT / "molecule" / "_shared" / "testlib" / "fedora_schemas_check.py"


def pins() -> list[str]:
    text = (ROOT / "requirements" / "runtime.txt").read_text()
    found = []
    for name in FEDORA_PACKAGES:
        match = re.search(rf"^{re.escape(name)}==\S+", text, re.MULTILINE)
        assert match, f"requirements/runtime.txt pins no {name}"
        found.append(match.group(0))
    return found


def consumer_venv() -> Path:
    """fedora-messaging + Fedora's schema packages + fedbus-messages, nothing of fedbus."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *pins(),
                    str(ROOT / "src" / "fedbus-messages")],
                   check=True, timeout=900, capture_output=True, text=True)
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                            check=True, capture_output=True, text=True, timeout=120).stdout
    names = {p["name"].lower() for p in json.loads(listed)}
    assert "fedbus" not in names and "flask" not in names, sorted(names)
    return python


def test_every_message_of_the_run_validates_under_fedoras_schemas(wire) -> None:
    records = wire.stop()
    python = consumer_venv()
    run = subprocess.run([str(python), str(CHECK)], input="".join(
        json.dumps(r) + "\n" for r in records), capture_output=True, text=True, timeout=600,
        check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    (output_dir() / "wire-schemas.json").write_text(json.dumps(summary, indent=1) + "\n")
    assert summary["messages"] == len(records) > 50, summary
    assert summary["unknown"] == [], summary["unknown"][:20]
    assert summary["invalid"] == [], summary["invalid"][:20]
    # the run's traffic spans the services, so the check did meet their schemas
    seen = set(summary["schemas"])
    for expected in ("koji_fedoramessaging.build.BuildStateChangeV1",
                     "fedora_messaging_git_hook.commit.v1", "fedbus.bus.canary.v1",
                     "fedbus.mirror.tier1.sync.complete.v1", "fedbus.mirror.tier2.sync.complete.v1",
                     "fedbus.netapp.snapmirror.in_sync.v1", "fedbus.bus.queue.created.v1"):
        assert expected in seen, (expected, sorted(seen))
