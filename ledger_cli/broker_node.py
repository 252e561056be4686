"""A RabbitMQ node of our own: a test restarts it without touching the machine's broker (5672), and
``ledger bench --log`` measures the broker's CPU with nothing else on it.

Run as the ``rabbitmq`` user (its Erlang cookie), with a unique node name, free loopback ports and a
temporary directory for its data and logs; stopped (and its directory removed) by whoever started it.
Restarting keeps the data directory, so durable queues and streams come back as after any broker restart.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SBIN = Path("/usr/lib/rabbitmq/bin")
BOOT_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> bool:
    """RabbitMQ's scripts and its service user exist here (and we may switch to that user)."""
    return (SBIN / "rabbitmq-server").exists() and shutil.which("runuser") is not None and os.geteuid() == 0


class BrokerNode:
    def __init__(self) -> None:
        self.node = f"ledgertest-{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port = _free_port(), _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-broker-"))
        shutil.chown(self.dir, "rabbitmq", "rabbitmq")
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        d = str(self.dir)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/var/lib/rabbitmq",  # the rabbitmq user's Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": f"{d}/mnesia",
            "RABBITMQ_LOG_BASE": f"{d}/log",
            "RABBITMQ_CONFIG_FILE": f"{d}/rabbitmq",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{d}/enabled_plugins",
            "RABBITMQ_PID_FILE": f"{d}/pid",
        }

    def _ctl(self, *args: str, timeout: float = BOOT_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
        argv = ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in self._env().items())]
        return subprocess.run(  # noqa: S603 - fixed programs, our own arguments
            [*argv, str(SBIN / "rabbitmqctl"), "-n", self.node, *args], capture_output=True, timeout=timeout
        )

    def start(self) -> None:
        argv = ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in self._env().items())]
        with (self.dir / "server.out").open("ab") as out:
            server = [*argv, str(SBIN / "rabbitmq-server")]
            self._proc = subprocess.Popen(server, stdout=out, stderr=out, cwd=self.dir)  # noqa: S603 - as above
        deadline = time.monotonic() + BOOT_TIMEOUT
        while self._ctl("await_startup", "--timeout", "5", timeout=30).returncode != 0:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"broker node {self.node} did not start: {(self.dir / 'server.out').read_text()[-2000:]}"
                )

    def stop(self) -> None:
        if self._proc is None:
            return
        self._ctl("stop", timeout=60)
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()  # our own process (runuser, then the node under it)
            self._proc.wait()
        self._proc = None

    @property
    def pid(self) -> int | None:
        """The node's Erlang VM (for its CPU time), from its pid file."""
        try:
            return int((self.dir / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
