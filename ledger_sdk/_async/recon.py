"""Reconciliation: runs of a statement source, and explaining or resolving its breaks."""

from __future__ import annotations

from ledger_sdk._async._commands import AsyncReconCommands


class AsyncRecon(AsyncReconCommands):
    """``client.recon``: run a source (``reconcile`` scope), explain or resolve a break."""
