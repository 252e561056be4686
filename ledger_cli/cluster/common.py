"""What the local cluster harness's two halves share: servers run as their service users, by pid.

Every server the harness starts is a session leader of its own (``start_new_session``), run as the
service user (``rabbitmq``, ``postgres``) with an environment built here and nothing inherited that
could point it at the machine's own servers. Its pid (= its process group) is recorded in the
harness's state file, and only those pids are ever signalled: the machine's 5432/5672 servers are
never touched, nor is anything else.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from contracts.errors import Rejected

#: Variables a server keeps from the caller (the rest is given explicitly).
_KEPT = ("PATH", "LANG", "LC_ALL", "TZ")


class HarnessError(Rejected, RuntimeError):
    """The harness could not do what it was asked (a server did not start, a tool is missing); asking
    again unchanged would fail the same way."""


def user_env(user: str, home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment for a server or tool run as ``user`` with ``home`` as its HOME."""
    env = {k: v for k, v in os.environ.items() if k in _KEPT}
    env.update({"HOME": str(home), "USER": user, "LOGNAME": user})
    env.update(extra)
    return env


def own(path: Path, user: str, mode: int = 0o700) -> None:
    """Make ``path`` (a directory, created if needed) ``user``'s alone."""
    path.mkdir(parents=True, exist_ok=True)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(mode)


def check_root() -> None:
    if os.geteuid() != 0:
        raise HarnessError("ledger cluster runs its servers as the rabbitmq and postgres users: run it as root")


def spawn(argv: Sequence[str], *, user: str, env: Mapping[str, str], log: Path, cwd: Path) -> int:
    """Start ``argv`` as ``user`` in a session of its own, output appended to ``log``; its pid."""
    entry = pwd.getpwnam(user)
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our argv, no shell
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=[],
            start_new_session=True,
        )
    return proc.pid


def run(
    argv: Sequence[str], *, user: str, env: Mapping[str, str], timeout: float = 60.0, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a tool as ``user`` to completion, capturing its output."""
    entry = pwd.getpwnam(user)
    done = subprocess.run(  # noqa: S603 - our argv, no shell
        list(argv),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        check=False,
    )
    if check and done.returncode != 0:
        raise HarnessError(f"{' '.join(argv[:4])}… failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
    return done


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child and has exited
    except ChildProcessError:
        waited = 0
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in ("Z", "X")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


def signal_group(pid: int | None, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` (a server the harness started), if it is there."""
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def stop_group(pid: int | None, timeout: float = 30.0) -> None:
    """SIGTERM the group led by ``pid``, SIGKILL it after ``timeout``; returns once its leader is gone."""
    if not alive(pid):
        signal_group(pid, signal.SIGKILL)  # leftovers of a group whose leader already died
        return
    signal_group(pid, signal.SIGTERM)
    if not wait_for(lambda: not alive(pid), timeout):
        signal_group(pid, signal.SIGKILL)
        wait_for(lambda: not alive(pid), 10)
    signal_group(pid, signal.SIGKILL)


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.2) -> bool:
    """Poll ``condition`` until it is truthy (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
