"""The worker's side of reconciliation: what a run or a break's resolution loads, and what it writes.

The rules themselves are pure like every other (``ledger_worker.rules.recon``); the matching is
``ledger_common.recon.engine``.
"""
