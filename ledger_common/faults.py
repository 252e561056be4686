"""Crash points for the tests that prove each guarantee by killing a process at one step.

``LEDGER_CRASH_AT=worker.after_commit`` makes the process SIGKILL itself there. Unset in
production, the check is one set lookup.
"""

from __future__ import annotations

import os
import signal

_POINTS = frozenset(p for p in os.environ.get("LEDGER_CRASH_AT", "").split(",") if p)


def crash_point(name: str) -> None:
    if name in _POINTS:
        os.kill(os.getpid(), signal.SIGKILL)
