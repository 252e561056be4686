"""The ``ledger`` console command."""
