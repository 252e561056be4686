"""What a catalogue entry is: :class:`CommandSpec`, its HTTP :class:`Route` and the :class:`PartyRule` of each side.

The entries themselves sit next to their payload models (``contracts.wallets``, ``contracts.money``,
``contracts.holds``: a command's model and its entry are one edit); ``contracts.catalogue`` gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.base import Contract
from contracts.ids import SystemRole
from contracts.keys import Scope
from contracts.refs import references

Method = Literal["POST", "PUT", "PATCH", "DELETE"]
PayloadModel = type[Contract]  # named here: inside CommandSpec, ``type`` is a field


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP route that sends the command; the gateway builds it from this (``http_gateway.writes``).

    The request body is the payload model less the fields the path names (``{hold_id}``), less ``omit``;
    amounts may be written as exact decimal strings too. A payload ``currency`` left out of the body is
    the currency of the object the path names (an account's limits are in its own currency).
    """

    method: Method
    path: str
    #: The OpenAPI ``operationId``, ``<resource>.<action>``: the SDK's method is ``client.<resource>.<action>``.
    operation: str
    #: Payload fields this route does not take (``POST /v1/accounts`` opens an account in a wallet of its own).
    omit: tuple[str, ...] = ()

    @property
    def params(self) -> tuple[str, ...]:
        """The path's parameters, in order (each a payload field)."""
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))


#: Whose wallet a party may be, for a key bound to a wallet: ``own`` (only its wallet), ``any`` (any
#: customer wallet), or ``debit`` (legs: its own when debited, any customer when credited). A key bound
#: to no wallet may name any customer wallet. A system account is never a party unless ``system``.
Reach = Literal["own", "any", "debit"]


@dataclass(frozen=True, slots=True)
class PartyRule:
    """Who may stand on one side of a command: a payload party (``debit``, ``payer``…) or the holder of the
    object it names (``hold``: the account that holds it; ``intent``: its merchant)."""

    name: str
    reach: Reach = "own"
    #: A scope needed besides the command's when this party is given (capturing to a new recipient
    #: moves money out, so it also needs ``transfer``).
    scope: Scope | None = None
    #: System accounts (treasury, revenue…) may stand here for a caller with the ``treasury`` scope.
    system: bool = False
    #: ``hold`` only: the hold's recipient may act too (a payee may release what it will not take).
    recipient_too: bool = False


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """Everything public about one command type."""

    type: str
    payload: PayloadModel
    #: The scope a caller needs to send it; ``None``: only the ledger itself sends it (the sweeper).
    scope: Scope | None
    routes: tuple[Route, ...] = ()
    #: The system account role the command posts against (in the payload's currency).
    system: SystemRole | None = None
    #: Kinds of object the command may create under an id derived from its command id that no payload
    #: field names (``intent.pay`` via a hold); loaded like ``Ref(new=True)`` fields.
    derives: tuple[Literal["hold"], ...] = ()
    #: Who may stand on each side; every party of the payload has a rule (tests/unit/test_capabilities.py).
    parties: tuple[PartyRule, ...] = ()
    #: False: only a caller bound to no wallet may send it (it acts across wallets or on configuration).
    bound: bool = True
    #: The state the object it acts on must be in, where that is not the state the object is made in (an
    #: intent is ``open`` when created; capturing one needs it ``authorized``): ``frozen``, ``authorized``,
    #: ``paid``. The examples the access and trust tests send are made so (``tests/examples.py``).
    state: Literal["frozen", "authorized", "paid"] | None = None

    @property
    def summary(self) -> str:
        """The payload model's first docstring line: what the command does."""
        return (self.payload.__doc__ or "").strip().splitlines()[0]

    def system_side(self, name: str) -> bool:
        """Whether a ``treasury`` caller may put a system account on side ``name``."""
        return any(r.name == name and r.system for r in self.parties)

    @property
    def internal(self) -> bool:
        """Sent by the ledger itself, never by a caller."""
        return self.scope is None

    @property
    def creates(self) -> bool:
        """It makes an object under an id it names or derives (a wallet, an account, a hold…): 201 over HTTP."""
        return any(d.ref.new for d in references(self.payload))


def post(path: str, operation: str) -> tuple[Route, ...]:
    """The one ``POST`` route of a command."""
    return (Route("POST", path, operation),)


def own(*names: str) -> tuple[PartyRule, ...]:
    """Parties that must be the bound wallet's."""
    return tuple(PartyRule(n) for n in names)
