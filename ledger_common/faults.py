"""Crash points for the tests that prove each guarantee by killing a process at one step.

``LEDGER_CRASH_AT=worker.after_commit`` makes the process SIGKILL itself there. Unset in
production, the check is one set lookup.
"""

from __future__ import annotations

import os
import signal

#: Every crash point in the code, each the step that makes one guarantee (docs/design.md, "Crash points");
#: tests/unit/test_crash_points.py checks the code, the docs and the tests against it.
POINTS = frozenset(
    {
        "gateway.after_publish",
        "worker.after_commit",
        "worker.after_dead_letter",
        "relay.after_publish",
        "relay.after_log_publish",
    }
)
_ARMED = frozenset(p for p in os.environ.get("LEDGER_CRASH_AT", "").split(",") if p)


def crash_point(name: str) -> None:
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
