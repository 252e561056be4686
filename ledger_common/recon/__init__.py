"""Reconciliation of the ledger against bank and PSP statements (issue 27).

``engine``: the pure matching engine; ``sources``: a source's declared mapping and rules; ``importer``:
streamed, idempotent statement import. The run and the resolution of breaks are commands
(``contracts.recon``) the worker applies (``ledger_worker.recon``).
"""
