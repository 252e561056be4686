# Generated from ledger_sdk/_async/recon.py by tools/sdk_generate.py; edit that file, not this one.
"""Reconciliation: runs of a statement source, and explaining or resolving its breaks."""

from __future__ import annotations

from ledger_sdk._sync._commands import ReconCommands


class Recon(ReconCommands):
    """``client.recon``: run a source (``reconcile`` scope), explain or resolve a break."""
