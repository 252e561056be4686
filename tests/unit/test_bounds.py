"""The bounds' one declaration (contracts/bounds.py) agrees with what reads it: the docs table, the
broker configuration shipped for compose, and the contract types."""

from __future__ import annotations

import re
from pathlib import Path

from contracts import bounds
from contracts.export import SECURITY_DOC
from contracts.money import PostTransaction
from contracts.wallets import CreateWallet
from ledger_common import intake

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_table_is_current() -> None:
    assert bounds.render() in SECURITY_DOC.read_text(), "run `make schemas`"


def test_the_compose_broker_refuses_messages_over_the_body_bound() -> None:
    conf = (ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text()
    found = re.search(r"^max_message_size\s*=\s*(\d+)$", conf, re.M)
    assert found is not None and int(found[1]) == bounds.MAX_BODY_BYTES


def test_the_contracts_and_the_intake_read_the_declaration() -> None:
    assert intake.MAX_BODY_BYTES == bounds.MAX_BODY_BYTES
    legs = PostTransaction.model_json_schema()["properties"]["legs"]
    assert (legs["minItems"], legs["maxItems"]) == (2, bounds.MAX_LEGS)
    wallet = CreateWallet.model_json_schema()["properties"]
    assert wallet["owner_id"]["maxLength"] == bounds.MAX_OWNER_ID_CHARS
    assert wallet["currencies"]["maxItems"] == bounds.MAX_WALLET_CURRENCIES
