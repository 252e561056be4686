"""The capability table, applied to every command under the locks of its posting. No I/O.

What a caller may do is declared once per command type in ``contracts.catalogue`` (its scope, whether
wallet-bound callers may send it, and a :class:`~contracts.catalogue.PartyRule` for each side); this
module reads those declarations against the objects the batch loaded and locked, before the rule
runs, for HTTP and AMQP alike. The gateway refuses the same things earlier for a clearer answer, never
instead: a command that reaches the worker is checked here whoever sent it.

A party that does not exist is refused ``forbidden_party`` where it would have to be the caller's own
(a bound key learns nothing about other wallets from the answer), and left to the rule's
``*_not_found`` where any wallet may stand.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from contracts.base import Party, WithParties
from contracts.catalogue import SPECS, PartyRule
from contracts.commands import Command
from contracts.ids import RESERVED_COMMAND_PREFIXES, is_ledger_id
from contracts.keys import Scope
from contracts.money import PostTransaction
from contracts.refs import references
from contracts.results import Refusal
from ledger_worker.book import Book
from ledger_worker.model import Account, Caller, Refused, Wallet

#: A side as the book knows it: its wallet and whether it is a system one (None: it does not exist).
Side = tuple[UUID, bool] | None


def check(book: Book, cmd: Command, caller: Caller) -> None:
    """Refuse ``cmd`` unless ``caller`` may send it with these parties."""
    spec = SPECS[cmd.type]
    if caller.forged is not None:
        raise Refused(Refusal.FORBIDDEN_PRINCIPAL, f"this publisher may not send commands as {caller.forged!r}")
    if caller.internal:
        return
    if cmd.command_id.startswith(RESERVED_COMMAND_PREFIXES):
        raise Refused(
            Refusal.RESERVED_COMMAND_ID, f"command ids starting {cmd.command_id.split(':')[0]}: are the ledger's"
        )
    if caller.revoked:
        raise Refused(Refusal.KEY_REVOKED, "the API key that sent this command is revoked or unknown")
    _check_chosen_ids(cmd)
    if spec.scope is None:
        raise Refused(Refusal.FORBIDDEN_SCOPE, f"only the ledger itself sends {cmd.type}")
    if spec.scope not in caller.scopes:
        raise Refused(Refusal.FORBIDDEN_SCOPE, f"{cmd.type} needs the {spec.scope.value!r} scope")
    if not spec.bound and caller.wallet_id is not None:
        raise Refused(Refusal.UNBOUND_KEY_REQUIRED, f"{cmd.type} acts across wallets: a caller bound to one may not")
    for rule in spec.parties:
        for side, credited in _sides(book, cmd, rule):
            _check_side(caller, rule, side, credited=credited)


def _check_chosen_ids(cmd: Command) -> None:
    """Refuse an id the caller chose for a new object if it is of the kind the ledger derives."""
    for declared in references(type(cmd.payload)):  # new objects are named at the top level only
        value = getattr(cmd.payload, declared.field)
        if declared.ref.new and isinstance(value, UUID) and is_ledger_id(value):
            raise Refused(
                Refusal.RESERVED_ID,
                f"{declared.field}: version-5 UUIDs are the ids the ledger derives; choose a random one (version 4)",
            )


def _check_side(caller: Caller, rule: PartyRule, side: Side | list[Side], *, credited: bool) -> None:
    sides = side if isinstance(side, list) else [side]
    if rule.scope is not None and rule.scope not in caller.scopes:
        raise Refused(Refusal.FORBIDDEN_SCOPE, f"naming the {rule.name} needs the {rule.scope.value!r} scope too")
    if any(s is not None and s[1] for s in sides):
        if not (rule.system and Scope.TREASURY in caller.scopes):
            raise Refused(Refusal.FORBIDDEN_PARTY, f"the {rule.name} may not be a system account")
        return
    own = rule.reach == "own" or (rule.reach == "debit" and not credited)
    if caller.wallet_id is None or not own:
        return
    if not any(s is not None and s[0] == caller.wallet_id for s in sides):
        raise Refused(Refusal.FORBIDDEN_PARTY, f"the {rule.name} must be this caller's own wallet")


def _sides(book: Book, cmd: Command, rule: PartyRule) -> Iterator[tuple[Side | list[Side], bool]]:
    """Each occurrence of the rule's side in ``cmd`` (absent optional parties yield nothing), and
    whether money arrives there (a credited leg)."""
    p = cmd.payload
    if rule.name == "hold":
        hold = book.holds.get(p.hold_id)  # type: ignore[attr-defined]
        if hold is None:
            yield None, False
        else:
            holders = [_account(book, hold.account_id)]
            if rule.recipient_too and hold.recipient_account_id is not None:
                holders.append(_account(book, hold.recipient_account_id))
            yield holders, False
    elif rule.name == "intent":
        intent = book.intents.get(p.intent_id)  # type: ignore[attr-defined]
        yield (None if intent is None else _account(book, intent.merchant_account_id)), False
    elif rule.name == "leg":
        assert isinstance(p, PostTransaction)
        for leg in p.legs:
            yield _party(book, leg.party("leg")), leg.side == "credit"
    else:
        assert isinstance(p, WithParties)
        party = p.party(rule.name)
        if party is not None:
            yield _party(book, party), rule.reach == "any"


def _party(book: Book, party: Party | None) -> Side:
    if party is None:
        return None
    if party.account_id is not None:
        return _account(book, party.account_id)
    assert party.wallet is not None
    wallet = book.find_wallet(party.wallet)
    return None if wallet is None else _wallet(wallet)


def _account(book: Book, account_id: UUID) -> Side:
    account: Account | None = book.accounts.get(account_id)
    return None if account is None else (account.wallet_id, account.kind == "system")


def _wallet(wallet: Wallet) -> Side:
    return wallet.id, wallet.kind == "system"
