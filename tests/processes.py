"""Run gateway, worker and relay as real processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ledger_common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: What each process logs once it serves (LOG_LEVEL is INFO in tests).
_READY_LINE = {"worker": "worker consuming", "relay": "relay publishing"}


class System:
    """The three processes of one ledger, sharing the test's database and AMQP namespace."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logdir = Path(tempfile.mkdtemp(prefix="ledger-e2e-"))

    def env(self, crash_at: str = "") -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            ENVIRONMENT=s.environment,
            DATABASE_URL=s.database_url.get_secret_value(),
            AMQP_URL=s.amqp_url.get_secret_value(),
            SERVICE_API_KEY=s.service_api_key.get_secret_value(),
            API_KEY_PEPPER=s.api_key_pepper.get_secret_value(),
            EVENT_SIGNING_KEYS=s.event_signing_keys.get_secret_value(),
            AMQP_DECLARE="true" if s.amqp_declare else "false",
            LOG_LEVEL=s.log_level,
            LEDGER_NAMESPACE=s.ledger_namespace,
            HTTP_PORT=str(self.port),
            RELAY_POLL_SECONDS="0.5",
            REPLY_TIMEOUT_SECONDS=str(s.reply_timeout_seconds),
            RELAY_MAX_ATTEMPTS=str(s.relay_max_attempts),
            LEDGER_CRASH_AT=crash_at,
            PYTHONPATH=str(ROOT),
        )
        return env

    def start(self, name: str, crash_at: str = "", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``ledger <name>``; ``env`` overrides variables for this process only (e.g. its AMQP_URL)."""
        offset = len(self.log(name))  # logs are appended across restarts
        log = open(self.logdir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ledger_cli.main", name],
            env={**self.env(crash_at), **(env or {})},
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
        self.procs[name] = proc
        if name == "gateway":
            self.wait_ready()
        elif name in _READY_LINE and not crash_at and (env or {}).get("LOG_LEVEL", "INFO") in ("INFO", "DEBUG"):
            self.wait_log(name, _READY_LINE[name], offset=offset)
        else:
            time.sleep(0.3)
        return proc

    def wait_log(self, name: str, text: str, *, offset: int = 0, timeout: float = 20.0) -> None:
        """Wait until the process has logged ``text`` (it is then serving, its signal handlers set)."""
        deadline = time.monotonic() + timeout
        while text not in self.log(name)[offset:]:
            if time.monotonic() > deadline or self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} not ready; log: {self.log(name)}")
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway not ready; log: {self.log('gateway')}")

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def cli_argv(*args: str) -> list[str]:
        return [sys.executable, "-m", "ledger_cli.main", *args]

    def cli(self, *args: str) -> str:
        """Run a ``ledger`` subcommand against this system and return its output."""
        done = subprocess.run(
            self.cli_argv(*args),
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        return proc.wait(timeout=30)

    def wait_exit(self, name: str, timeout: float = 30.0) -> int:
        proc = self.procs.pop(name)
        return proc.wait(timeout=timeout)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
