"""The attacker test (tests/e2e/test_attacker.py): a world of wallets, keys and ids on a system of its own
(``world``), the commands attackers send (``payloads``), the honest caller beside them (``honest``) and the
invariants checked after each step and at the end (``checks``)."""
