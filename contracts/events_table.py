"""The events table of docs/topology.md, rendered from ``contracts.events.PAYLOADS`` (``make generate``).

One row per stream and meaning, in the order the types are declared: a new event type with a payload model
already described here (``hold.*`` carries ``HoldChanged``) needs no edit; a new payload model needs its row.
"""

from __future__ import annotations

from pathlib import Path

from contracts.base import Contract
from contracts.events import (
    PAYLOADS,
    AccountOpened,
    BalanceChanged,
    CommandRefused,
    CurrencyRegistered,
    HoldChanged,
    IntentChanged,
    LimitsChanged,
    WalletCreated,
    WalletMetadataChanged,
    WalletStatusChanged,
)
from contracts.keys import KEY_EVENT_TYPES
from contracts.recon import BreakChanged, ReconciliationCompleted

TOPOLOGY_DOC = Path(__file__).resolve().parent.parent / "docs" / "topology.md"
BEGIN = "<!-- events:begin (generated from contracts/events.py by `make generate`; do not edit) -->"
END = "<!-- events:end -->"
HEADER = ("| routing key = event `type` | stream (`sequence`) | when |", "| --- | --- | --- |")

_WALLET = ("wallet (`account_id` null)", "a wallet changed")
#: (stream, when) of each payload model's events.
ROWS: dict[type[Contract], tuple[str, str]] = {
    CurrencyRegistered: ("none", "an asset type was added"),
    WalletCreated: _WALLET,
    WalletStatusChanged: _WALLET,
    WalletMetadataChanged: _WALLET,
    AccountOpened: ("account", "an account was opened"),
    BalanceChanged: (
        "account",
        "money arrived on / left a customer account; payload has the balance, held and available after it and the"
        " posting's `entry_hash` / `previous_hash`",
    ),
    LimitsChanged: ("account", "`account.set_limits`"),
    HoldChanged: ("the holder's account", "a hold changed"),
    IntentChanged: ("the merchant's account", "a payment intent changed"),
    CommandRefused: ("none", "a command was refused (`payload.refusal` is the code)"),
    ReconciliationCompleted: ("none", "a statement source was reconciled (`recon.run`): its counts"),
    BreakChanged: ("none", "a reconciliation break was opened, explained or resolved"),
}
_KEYS = ("none", "an API key changed (`contracts.keys.KeyEvent`; never a secret)")


def render_table() -> str:
    """The table with its markers."""
    groups: dict[tuple[str, str], list[str]] = {}
    for kind, model in PAYLOADS.items():
        groups.setdefault(ROWS[model], []).append(kind)
    rows = [f"| {' / '.join(f'`{k}`' for k in kinds)} | {where} | {when} |" for (where, when), kinds in groups.items()]
    rows.append(f"| {', '.join(f'`{k}`' for k in KEY_EVENT_TYPES)} | {_KEYS[0]} | {_KEYS[1]} |")
    return "\n".join((BEGIN, *HEADER, *rows, END))


def splice(document: str) -> str:
    """``document`` with the table between the markers (markers included) rendered anew."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{TOPOLOGY_DOC.name} lacks the events markers {BEGIN!r} ... {END!r}")
    return document[:start] + render_table() + document[end + len(END) :]
