"""Run ``ledger gateway``, ``ledger worker`` and ``ledger relay`` as real processes of one ledger.

:class:`Processes` is the one way the tests, ``ledger bench`` and ``ledger chaos`` start them: every
process gets its environment from :func:`ledger_common.settings.settings_env` (every setting, nothing
inherited that could contradict it), the gateway a free port, each process a log file of its own in
the log directory, appended across restarts. :meth:`Processes.start` returns once the process
serves: the gateway when ``/readyz`` answers 200, a worker or relay when it has logged that it
consumes or publishes (at ``LOG_LEVEL`` INFO or DEBUG; above that it is only started). It is
synchronous, for tests written with subprocesses; :class:`Supervisor` drives it from asyncio and
restarts what exits unexpectedly (chaos, bench).

A process is named ``<role>`` or ``<role>-<n>`` (``worker-2``): its role is the ``ledger`` subcommand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from ledger_common.settings import ENV_NAMES, Settings, settings_env

log = logging.getLogger("ledger.processes")

#: The directory holding the ``ledger_cli`` package the processes run (the caller's code, not an installed copy).
CODE_ROOT = Path(__file__).resolve().parent.parent
CRASH_VARIABLE = "LEDGER_CRASH_AT"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: What a worker or relay logs (at INFO) once it serves, its signal handlers set.
READY_LINE = {"worker": "worker consuming", "relay": "relay publishing"}
_VERBOSE = ("DEBUG", "INFO")


def free_port() -> int:
    """A TCP port nothing listens on right now (for a gateway)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def listening(port: int, exited: Callable[[], int | None], what: str, *, seconds: float = 30) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``; ``RuntimeError`` if ``exited()`` (the
    process that should listen there) returns an exit code first, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (code := exited()) is not None:
            raise RuntimeError(f"{what} exited with {code}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"{what} did not listen within {seconds:g} s")


def deal(partitions: int, workers: int) -> list[tuple[int, ...]]:
    """Partitions dealt round-robin: worker ``n`` owns ``n, n + workers, …`` (with more workers than
    partitions, the extra ones own one already owned: they only stand by)."""
    return [tuple(range(n, partitions, workers)) or (n % partitions,) for n in range(workers)]


def role_of(name: str) -> str:
    return name.split("-")[0]


class Processes:
    """The processes of one ledger, all run with ``settings`` (plus per-start overrides).

    ``procs`` holds the processes started and not stopped (an exited one stays until stopped or
    restarted); ``port`` is the gateway's.
    """

    def __init__(self, settings: Settings, *, logdir: Path | None = None) -> None:
        self.settings = settings
        self.port = free_port()
        self.logdir = logdir or Path(tempfile.mkdtemp(prefix="ledger-processes-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        #: Variables one process is always started with (e.g. ``worker-2``'s ``WORKER_PARTITIONS``).
        self.overrides: dict[str, dict[str, str]] = {}
        self._levels: dict[str, str] = {}  # LOG_LEVEL each process was started with

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def own_partitions(self, workers: Sequence[str]) -> None:
        """Give each of ``workers`` its own ``WORKER_PARTITIONS`` (:func:`deal`)."""
        for name, owned in zip(workers, deal(self.settings.command_partitions, len(workers)), strict=True):
            self.overrides.setdefault(name, {})["WORKER_PARTITIONS"] = ",".join(map(str, owned))

    def env(self, crash_at: str = "", **overrides: str) -> dict[str, str]:
        """The environment of a process (or a ``ledger`` command) of this ledger.

        The caller's environment less every settings variable, then every setting (the gateway on
        this port), the Python path of this code, ``LEDGER_CRASH_AT=crash_at``, ``overrides``.
        """
        inherited = {k: v for k, v in os.environ.items() if k.upper() not in ENV_NAMES and k != CRASH_VARIABLE}
        s = self.settings.model_copy(update={"http_host": "127.0.0.1", "http_port": self.port})
        path = os.pathsep.join(p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**inherited, **settings_env(s), "PYTHONPATH": path}
        if crash_at:
            env[CRASH_VARIABLE] = crash_at
        return {**env, **overrides}

    @staticmethod
    def cli_argv(*args: str) -> list[str]:
        return [sys.executable, "-m", "ledger_cli.main", *args]

    def spawn(self, name: str, crash_at: str = "", env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``ledger <role>`` as ``name``, not waiting for it; ``env`` overrides variables for it alone."""
        process_env = self.env(crash_at, **{**self.overrides.get(name, {}), **(env or {})})
        with (self.logdir / f"{name}.log").open("ab") as out:
            argv = self.cli_argv(role_of(name))
            proc = subprocess.Popen(argv, env=process_env, stdout=out, stderr=out)  # noqa: S603 - our own module
        self.procs[name] = proc
        self._levels[name] = process_env.get("LOG_LEVEL", "INFO").upper()
        return proc

    def start(self, name: str, crash_at: str = "", env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start ``name`` and wait until it serves; one started with ``crash_at`` may have crashed by then."""
        offset = len(self.log(name))  # logs are appended across restarts: look only at this run's lines
        proc = self.spawn(name, crash_at, env)
        if not self.wait_ready(name, proc, offset=offset) and not crash_at:
            raise RuntimeError(f"{name} exited ({proc.returncode}) before it served; log: {self.log(name)[offset:]}")
        return proc

    def wait_ready(self, name: str, proc: subprocess.Popen[bytes], *, offset: int = 0) -> bool:
        """Wait until ``proc`` (started as ``name``) serves: True; False if it exited first.

        Raises ``RuntimeError`` after ``READY_TIMEOUT``. ``offset``: where this start's log lines begin.
        """
        role = role_of(name)
        line = READY_LINE.get(role)
        if role != "gateway" and (line is None or self._levels.get(name) not in _VERBOSE):
            return proc.poll() is None  # it says nothing we could watch for
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if self._serves(name, line, offset):
                return True
            time.sleep(0.05)
        raise RuntimeError(f"{name} not ready after {READY_TIMEOUT:.0f} s; log: {self.log(name)[offset:]}")

    def _serves(self, name: str, line: str | None, offset: int) -> bool:
        if line is not None:
            return line in self.log(name)[offset:]
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self, name: str) -> str:
        """Everything ``name`` has written so far, across restarts."""
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pid(self, name: str) -> int | None:
        """The process id of ``name`` while it runs."""
        proc = self.procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Send ``sig`` and wait for the exit (SIGKILL after ``timeout``); its exit code, None if not started."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
        return _wait(name, proc, timeout)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Stop ``name`` with ``sig`` (default SIGKILL); its exit code."""
        code = self.stop(name, sig)
        if code is None:
            raise KeyError(f"{name} was not started")
        return code

    def wait_exit(self, name: str, timeout: float = STOP_TIMEOUT) -> int:
        """Wait until ``name`` exits by itself (a crash point); its exit code."""
        code = self.procs[name].wait(timeout=timeout)
        del self.procs[name]
        return code

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every process at once, then wait for each (SIGKILL after ``timeout``)."""
        procs, self.procs = self.procs, {}
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            _wait(name, proc, timeout)

    def run_cli(
        self, *args: str, env: Mapping[str, str] | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``ledger <args>`` against this ledger (``env``: more variables), capturing its output."""
        return run_ledger(*args, env=self.env(**(env or {})), check=check, timeout=timeout)

    def cli(self, *args: str) -> str:
        """Run a ``ledger`` subcommand against this ledger and return its output."""
        return self.run_cli(*args).stdout


def run_ledger(
    *args: str, env: Mapping[str, str], check: bool = True, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``ledger <args>`` with exactly ``env``, capturing its output (see :func:`run_group`)."""
    return run_group(Processes.cli_argv(*args), env=env, check=check, timeout=timeout)


def run_group(
    argv: list[str], *, env: Mapping[str, str], check: bool = True, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a process group of its own, capturing its output.

    Past ``timeout`` the whole group is killed, so nothing it started (``ledger chaos`` and ``ledger
    bench`` start a whole system) outlives it holding connections, then ``TimeoutExpired`` is raised.
    """
    with subprocess.Popen(  # noqa: S603 - the caller's argv, no shell
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done


def _wait(name: str, proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s; killing it", name, timeout)
        proc.kill()
        return proc.wait()


class Supervisor:
    """Starts, stops and watches :class:`Processes` from asyncio: ``gateway``, ``worker-1``…, ``relay-1``….

    A process that exits without being told to is an *unexpected exit*: it is counted and restarted,
    so one crash does not hide every later check.
    """

    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        self._watcher: asyncio.Task[None] | None = None
        self.unexpected_exits: Counter[str] = Counter()
        self.starts: Counter[str] = Counter()

    @property
    def names(self) -> list[str]:
        return list(self.processes.procs)

    @property
    def base_url(self) -> str:
        return self.processes.base_url

    def pid(self, name: str) -> int | None:
        return self.processes.pid(name)

    async def start(self, name: str) -> None:
        """Start ``name`` and wait until it serves (one that exits first is the watcher's to restart)."""
        offset = len(self.processes.log(name))
        proc = await asyncio.to_thread(self.processes.spawn, name)
        self.starts[name] += 1
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        await asyncio.to_thread(self.processes.wait_ready, name, proc, offset=offset)

    async def stop(self, name: str, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` and wait for the exit (SIGKILL after ``STOP_TIMEOUT``); returns the exit code."""
        return await asyncio.to_thread(self.processes.stop, name, sig)

    async def restart(self, name: str, sig: int, pause: float) -> int | None:
        """Stop ``name`` with ``sig``, wait ``pause`` seconds, start it again; returns the exit code."""
        code = await self.stop(name, sig)
        await asyncio.sleep(pause)
        await self.start(name)
        return code

    async def stop_all(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await asyncio.to_thread(self.processes.stop_all)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for name, proc in list(self.processes.procs.items()):
                if proc.poll() is not None:
                    log.error("%s exited unexpectedly (%s); restarting it", name, proc.returncode)
                    self.unexpected_exits[name] += 1
                    await self.start(name)

    def all_running(self) -> bool:
        return all(p.poll() is None for p in self.processes.procs.values())
