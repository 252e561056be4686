"""AMQP helpers for the ledger's two other kinds of users (install the SDK with its ``amqp`` extra: aio-pika).

- Upstream services send commands with :class:`CommandPublisher` (publisher confirms, a reply queue,
  the ``CommandResult`` awaited, refusals raised as their classes; the command id is the idempotency key).
- Downstream services consume events with :class:`EventSubscriber` (a durable quorum queue, signatures
  verified, de-duplication on ``event_id`` behind an :class:`EventStore`, per-stream gap detection,
  ack only after the handler returned).
- Or they read the event log with :class:`LogReader`: every event in position order from the beginning,
  a time, a position or now, then live; the position kept in the same :class:`EventStore`.

::

    async with CommandPublisher(url, user="orders") as ledger:
        result = await ledger.send("transfer", {"debit_wallet": "@alice", "credit_wallet": "@shop",
                                                "amount": 1250, "currency": "USD"}, command_id="order-8812")

    async with EventSubscriber(url, queue="billing.ledger-events", bindings=["account.*"],
                               signing_keys=os.environ["LEDGER_EVENT_KEYS"]) as events:
        await events.run(handle)
"""

try:
    import aio_pika  # noqa: F401 - only to say what is missing
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError("ledger_sdk.amqp needs aio-pika: pip install 'ledger-sdk[amqp]'") from exc

from ledger_sdk.amqp._seek import ReaderBehind
from ledger_sdk.amqp.errors import PublishNotConfirmed, ReplyTimeout
from ledger_sdk.amqp.log import LogHandler, LogKeyHandler, LogReader, Start
from ledger_sdk.amqp.publisher import CommandPublisher
from ledger_sdk.amqp.store import EventStore, MemoryEventStore
from ledger_sdk.amqp.streams import Order, Stalls, order, stream_of
from ledger_sdk.amqp.subscriber import EventSubscriber, GapHandler, Handler, KeyHandler

__all__ = [
    "CommandPublisher",
    "EventStore",
    "EventSubscriber",
    "GapHandler",
    "Handler",
    "KeyHandler",
    "LogHandler",
    "LogKeyHandler",
    "LogReader",
    "MemoryEventStore",
    "Order",
    "PublishNotConfirmed",
    "ReaderBehind",
    "ReplyTimeout",
    "Stalls",
    "Start",
    "order",
    "stream_of",
]
