"""A small, independent reference model of the ledger's rules, for the model-based property test.

It knows nothing of the worker's code: plain dicts of balances, holds and intents, and the rules as
the documentation states them. The property test runs the same steps against it and the real
system and requires the same outcome (status and refusal) and the same balances after each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USERS = ("a", "b", "c", "m")  # m is the merchant


@dataclass
class Acc:
    balance: int = 0
    held: int = 0
    min_balance: int = 0
    max_tx: int | None = None
    frozen: bool = False
    allow_credits: bool = True


@dataclass
class HoldM:
    account: str
    amount: int
    recipient: str | None
    intent: int | None = None
    status: str = "pending"


@dataclass
class IntentM:
    merchant: str
    amount: int
    status: str = "open"
    payer: str | None = None
    hold: int | None = None
    paid: int = 0
    refunded: int = 0


@dataclass
class TxM:
    kind: str
    legs: list[tuple[str, int]]  # (account name or "system", signed amount)
    reversed: bool = False


class Refusal(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Model:
    accounts: dict[str, Acc] = field(default_factory=lambda: {u: Acc() for u in USERS})
    holds: list[HoldM] = field(default_factory=list)
    intents: list[IntentM] = field(default_factory=list)
    txs: list[TxM] = field(default_factory=list)

    # ---- the checks every debit and credit of a customer account passes ----

    def _debit_ok(self, name: str, amount: int, *, limits: bool = True) -> None:
        acc = self.accounts[name]
        if acc.frozen and limits:
            raise Refusal("account_frozen")
        if acc.balance - acc.held - amount < acc.min_balance:
            raise Refusal("insufficient_funds")
        if limits and acc.max_tx is not None and amount > acc.max_tx:
            raise Refusal("exceeds_transaction_limit")

    def _credit_ok(self, name: str, *, limits: bool = True) -> None:
        acc = self.accounts[name]
        if acc.frozen and not acc.allow_credits and limits:
            raise Refusal("account_frozen")

    def _post(self, kind: str, legs: list[tuple[str, int]], *, limits: bool = True) -> None:
        net: dict[str, int] = {}
        for name, amount in legs:
            net[name] = net.get(name, 0) + amount
        for name, change in net.items():
            if name == "system":
                continue
            if change < 0:
                self._debit_ok(name, -change, limits=limits)
            elif change > 0:
                self._credit_ok(name, limits=limits)
        for name, amount in legs:
            if name != "system":
                self.accounts[name].balance += amount
        self.txs.append(TxM(kind, legs))

    # ---- the steps ----

    def flow(self, kind: str, name: str, amount: int) -> None:
        credit = kind in ("deposit", "bonus")
        legs = [("system", -amount), (name, amount)] if credit else [(name, -amount), ("system", amount)]
        self._post(kind, legs)

    def transfer(self, src: str, dst: str, amount: int) -> None:
        self._post("transfer", [(src, -amount), (dst, amount)])

    def split(self, payers: list[tuple[str, int]], payee: str) -> None:
        self._post("transaction.post", [(p, -a) for p, a in payers] + [(payee, sum(a for _, a in payers))])

    def place(self, name: str, amount: int, recipient: str | None, intent: int | None = None) -> int:
        if recipient == name:
            raise Refusal("same_account")
        self._debit_ok(name, amount)
        self.accounts[name].held += amount
        self.holds.append(HoldM(name, amount, recipient, intent))
        return len(self.holds) - 1

    def capture(self, index: int, amount: int | None, recipient: str | None, *, via_intent: bool = False) -> None:
        hold = self.holds[index]
        if hold.intent is not None and not via_intent:
            raise Refusal("hold_belongs_to_intent")
        if hold.status != "pending":
            raise Refusal("hold_not_pending")
        amount = hold.amount if amount is None else amount
        if amount > hold.amount:
            raise Refusal("capture_exceeds_hold")
        to = recipient or hold.recipient
        if to is None:
            raise Refusal("recipient_required")
        if to == hold.account:
            raise Refusal("same_account")
        acc = self.accounts[hold.account]
        acc.held -= hold.amount
        try:
            self._post("hold.capture", [(hold.account, -amount), (to, amount)])
        except Refusal:
            acc.held += hold.amount
            raise
        hold.status = "captured"
        hold.recipient = to

    def increment(self, index: int, amount: int) -> None:
        hold = self.holds[index]
        if hold.intent is not None:
            raise Refusal("hold_belongs_to_intent")
        if hold.status != "pending":
            raise Refusal("hold_not_pending")
        acc = self.accounts[hold.account]
        if acc.frozen:
            raise Refusal("account_frozen")
        if acc.balance - acc.held - amount < acc.min_balance:
            raise Refusal("insufficient_funds")
        if acc.max_tx is not None and hold.amount + amount > acc.max_tx:  # the limit bounds the new total
            raise Refusal("exceeds_transaction_limit")
        acc.held += amount
        hold.amount += amount

    def release(self, index: int) -> None:
        hold = self.holds[index]
        if hold.intent is not None:
            raise Refusal("hold_belongs_to_intent")
        if hold.status != "pending":
            raise Refusal("hold_not_pending")
        self.accounts[hold.account].held -= hold.amount
        hold.status = "released"

    def create_intent(self, amount: int) -> int:
        self.intents.append(IntentM("m", amount))
        return len(self.intents) - 1

    def pay(self, index: int, payer: str, via_hold: bool) -> None:
        intent = self.intents[index]
        if intent.status != "open":
            raise Refusal("intent_not_payable")
        if via_hold:
            intent.hold = self.place(payer, intent.amount, intent.merchant, index)
            intent.status, intent.payer = "authorized", payer
            return
        self._post("intent.pay", [(payer, -intent.amount), (intent.merchant, intent.amount)])
        intent.status, intent.payer, intent.paid = "paid", payer, intent.amount

    def capture_intent(self, index: int, amount: int | None) -> None:
        intent = self.intents[index]
        if intent.status != "authorized" or intent.hold is None:
            raise Refusal("intent_not_authorized")
        self.capture(intent.hold, amount, None, via_intent=True)
        intent.status, intent.paid = "paid", amount if amount is not None else intent.amount

    def cancel(self, index: int) -> None:
        intent = self.intents[index]
        if intent.status not in ("open", "authorized"):
            raise Refusal("intent_not_payable")
        if intent.hold is not None and self.holds[intent.hold].status == "pending":
            hold = self.holds[intent.hold]
            self.accounts[hold.account].held -= hold.amount
            hold.status = "released"
        intent.status = "canceled"

    def refund(self, index: int, amount: int) -> None:
        intent = self.intents[index]
        if intent.status != "paid" or intent.payer is None:
            raise Refusal("intent_not_paid")
        if intent.refunded + amount > intent.paid:
            raise Refusal("refund_exceeds_paid")
        self._post("refund", [(intent.merchant, -amount), (intent.payer, amount)])
        intent.refunded += amount

    def reverse(self, index: int) -> None:
        tx = self.txs[index]
        if tx.reversed:
            raise Refusal("already_reversed")
        if tx.kind in ("hold.capture", "intent.capture", "intent.pay", "refund", "reversal"):
            raise Refusal("not_reversible")
        self._post("reversal", [(name, -amount) for name, amount in tx.legs], limits=False)
        tx.reversed = True

    def freeze(self, name: str, allow_credits: bool) -> None:
        acc = self.accounts[name]
        acc.frozen, acc.allow_credits = True, allow_credits

    def unfreeze(self, name: str) -> None:
        acc = self.accounts[name]
        if not acc.frozen:
            raise Refusal("wallet_not_frozen")
        acc.frozen, acc.allow_credits = False, True

    def set_limits(self, name: str, min_balance: int, max_tx: int | None) -> None:
        acc = self.accounts[name]
        if acc.balance - acc.held < min_balance:
            raise Refusal("insufficient_funds")
        acc.min_balance, acc.max_tx = min_balance, max_tx
