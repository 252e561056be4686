"""The two ways an AMQP command can end without a ``CommandResult``, placed in the SDK's error tree.

Both keep the rule the HTTP client has: the command id is the idempotency key, so sending the same
command again (same id, same payload) is always safe and never applies it twice.
"""

from __future__ import annotations

from ledger_sdk._pending import PendingInfo
from ledger_sdk.errors import CommandPending, TransportError


class PublishNotConfirmed(TransportError):
    """The broker nacked the command, could not route it, or did not confirm it within ``confirm_timeout``.

    It may or may not be in the command queue: publish it again with the same ``command_id``.
    """

    code = "publish_not_confirmed"

    def __init__(self, command_id: str, reason: str) -> None:
        super().__init__(f"command {command_id} was not confirmed by the broker: {reason}")
        self.command_id, self.reason = command_id, reason


class ReplyTimeout(CommandPending):
    """The broker confirmed the command (it is durable in a quorum queue) but no reply came within
    ``reply_timeout``. It is applied at most once: send it again with the same ``command_id`` to get the
    recorded result (the worker replays it), or read ``status_url`` over HTTP. ``operation`` is None."""

    code = "reply_timeout"

    def __init__(self, command_id: str, timeout: float) -> None:
        super().__init__(PendingInfo(command_id, f"/v1/commands/{command_id}"), None)
        self.timeout = timeout
