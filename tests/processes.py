"""Moved to :mod:`ledger_cli.processes` (one harness for the tests, ``ledger bench`` and ``ledger chaos``).

Only an alias for tests still written against the old names; new tests use ``Processes``.
"""

from ledger_cli.processes import CODE_ROOT as ROOT
from ledger_cli.processes import Processes as System

__all__ = ["ROOT", "System"]
