"""A private RabbitMQ node for one test module: started, waited for, stopped in bounded time.

For tests that stop the broker (``stop_app`` / ``start_app``) or need a listener of their
own (TLS), on a node that nobody else uses; the shared node is scripts/host-rabbitmq.sh's.

Data: ``/var/lib/fedbus-test-rabbitmq/<node>-<hash of this checkout's path>/``, the scheme of
scripts/host-rabbitmq.sh (issue 13), emptied on every start. The server runs as user
rabbitmq, which must traverse every parent of its data: not the checkout's, whose .cache/
``make up`` may leave root's 0700 (and /root is 0700). /var/lib/fedbus-test-rabbitmq is
made root 0755 on every start, as the script does.

    with private_rabbitmq.node("fedbus-x@localhost", amqp_port=5690, dist_port=25690) as n:
        n.url        # amqp://fedbus-test:fedbus-test@127.0.0.1:5690/%2F (administrator)
        n.stop_app()
        n.start_app()

A node that does not boot fails with the tail of its logs; leaving the block stops the node
with ``rabbitmqctl stop`` and kills it if it is still running ``stop_timeout`` seconds later.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOP = Path("/var/lib/fedbus-test-rabbitmq")
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
USER, PASSWORD = "fedbus-test", "fedbus-test"


def data_dir(name: str) -> Path:
    """Where node ``name`` of this checkout keeps its data (as scripts/host-rabbitmq.sh)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+", name):
        raise ValueError(f"a RabbitMQ node name is name@host, not {name!r}")
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return TOP / f"{name}-{checkout}"


@dataclass
class PrivateNode:
    name: str
    base: Path
    amqp_port: int
    env: dict[str, str]
    server: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"amqp://{USER}:{PASSWORD}@127.0.0.1:{self.amqp_port}/%2F"

    def ctl(self, *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmqctl", "-q", "-n", self.name, *args], env=self.env,
                              capture_output=True, text=True, check=check, timeout=timeout)

    def stop_app(self) -> None:
        """The outage: the broker closes every connection and its listeners."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60")

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's stdout and of the node's own log, for failure messages."""
        parts = []
        for log in sorted((self.base / "log").glob("*.log")):
            text = log.read_text(errors="replace").strip()
            if text:
                parts.append(f"--- {log} (end) ---\n{text[-chars:]}")
        return "\n".join(parts) or f"(nothing in {self.base / 'log'})"

    def boot_error(self) -> str:
        """Why the node did not boot, in one line, as far as its stdout says."""
        try:
            text = (self.base / "log" / "stdout.log").read_text(errors="replace")
        except OSError:
            return "no stdout.log"
        found = re.search(r"Error during startup: .*", text)
        startup = found.group(0) if found else ""
        found = re.search(r"\[error\] <[^>]*> (.*)", text)
        first = found.group(1) if found else ""
        if startup and first:
            return f"{startup} (first error: {first})"
        return startup or first or "no error in its stdout"

    def _did_not_boot(self, what: str) -> NoReturn:
        pytest.fail(f"RabbitMQ node {self.name} {what}: {self.boot_error()}\n"
                    f"(data {self.base})\n{self.log_tail()}", pytrace=False)

    def wait_for_boot(self, timeout: float) -> None:
        assert self.server is not None
        deadline = time.monotonic() + timeout
        while self.ctl("ping", check=False, timeout=30).returncode != 0:
            if self.server.poll() is not None:
                self._did_not_boot("exited while booting")
            if time.monotonic() > deadline:
                self._did_not_boot(f"did not answer within {timeout:.0f} s")
            time.sleep(0.5)
        done = self.ctl("await_startup", "--timeout", "60", check=False)
        if done.returncode != 0:
            self._did_not_boot(f"did not finish booting ({done.stderr.strip()})")

    def stop(self, timeout: float) -> None:
        """``rabbitmqctl stop``; whatever still runs ``timeout`` seconds later is killed."""
        server = self.server
        if server is None or server.poll() is not None:
            return
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.ctl("stop", check=False, timeout=timeout)
        try:
            server.wait(max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            _kill_node(self.base)
            server.kill()
            server.wait(10)


def _kill_node(base: Path) -> None:
    """SIGKILL every process of the node on base (a hung one, or one a killed run left).

    They are the processes whose environment names its mnesia directory: the server starts
    in a session of its own, so its whole process group goes.
    """
    marker = f"RABBITMQ_MNESIA_BASE={base / 'mnesia'}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            group = os.getpgid(pid)
            if group != os.getpgrp():
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    for pid in pids:  # gone, or a zombie: its ports are free
        while time.monotonic() < deadline:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                break
            if stat.rsplit(")", 1)[-1].split()[:1] in (["Z"], ["X"]):
                break
            time.sleep(0.1)


def _check_reachable(base: Path) -> None:
    """Fail in one line, naming the directory in the way, if user rabbitmq cannot use base."""
    def rabbitmq_can(*test: str) -> bool:
        return subprocess.run(["runuser", "-u", "rabbitmq", "--", "test", *test]).returncode == 0

    if rabbitmq_can("-w", str(base / "mnesia"), "-a", "-w", str(base / "log"),
                    "-a", "-r", str(base / "rabbitmq.conf")):
        return
    for parent in [*reversed(base.parents), base]:
        if not rabbitmq_can("-x", str(parent)):
            st = parent.stat()
            pytest.fail(f"user rabbitmq cannot traverse {parent} (mode {st.st_mode & 0o7777:o}, "
                        f"uid {st.st_uid}), so the node cannot use {base}", pytrace=False)
    pytest.fail(f"user rabbitmq cannot write {base}/mnesia or {base}/log", pytrace=False)


@contextlib.contextmanager
def node(
    name: str,
    *,
    amqp_port: int,
    dist_port: int,
    mgmt_port: int | None = None,
    conf: Sequence[str] = (),
    plugins: Sequence[str] = (),
    files: Mapping[str, Path] | None = None,
    boot_timeout: float = 90,
    stop_timeout: float = 60,
) -> Iterator[PrivateNode]:
    """Start RabbitMQ node ``name`` (``name@host``) as user rabbitmq, wait, yield, stop.

    ``conf``: more rabbitmq.conf lines; ``plugins``: the enabled plugins (none by default;
    ``mgmt_port`` only configures the management listener); ``files``: copied into the
    node's directory, :func:`data_dir` (``{"ca.pem": src}`` → ``data_dir(name) / "ca.pem"``),
    readable by the node alone. The administrator ``fedbus-test`` / ``fedbus-test`` owns
    the vhost ``/``; guest is removed. Skips the test if rabbitmq-server is not installed.
    """
    if not SERVER.exists() or not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmq-server is not installed")
    base = data_dir(name)
    TOP.mkdir(exist_ok=True)
    os.chown(TOP, 0, 0)
    TOP.chmod(0o755)
    _kill_node(base)  # a node a killed run left on base holds its ports
    shutil.rmtree(base, ignore_errors=True)
    (base / "mnesia").mkdir(parents=True)
    (base / "log").mkdir()
    (base / "checkout").write_text(f"{ROOT}\n")
    for file, source in (files or {}).items():
        shutil.copyfile(source, base / file)
        (base / file).chmod(0o600)
    lines = [f"listeners.tcp.default = 127.0.0.1:{amqp_port}", *conf]
    if mgmt_port is not None:
        lines += ["management.tcp.ip = 127.0.0.1", f"management.tcp.port = {mgmt_port}"]
    lines += ["loopback_users = none", "log.file.level = warning"]
    (base / "rabbitmq.conf").write_text("".join(f"{line}\n" for line in lines))
    (base / "enabled_plugins").write_text(f"[{','.join(plugins)}].\n")
    subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(base)], check=True)
    _check_reachable(base)
    server_env = {
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),  # .conf is appended
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
    }
    private = PrivateNode(name, base, amqp_port, {**os.environ, "RABBITMQ_NODENAME": name})
    # From base, not from the checkout, which user rabbitmq may not be able to enter.
    with open(base / "log" / "stdout.log", "wb") as out:
        private.server = subprocess.Popen(
            ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in server_env.items()),
             "setsid", str(SERVER)],
            cwd=base, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        private.wait_for_boot(boot_timeout)
        private.ctl("add_user", USER, PASSWORD)
        private.ctl("set_user_tags", USER, "administrator")
        private.ctl("set_permissions", "-p", "/", USER, ".*", ".*", ".*")
        private.ctl("delete_user", "guest", check=False)
        yield private
    finally:
        private.stop(stop_timeout)
