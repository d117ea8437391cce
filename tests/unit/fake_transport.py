"""A transport that records every message and answers as scripted, for the send loop's tests.

It keeps the promise of the real ones (digest.deliver.transport.Transport): one result per
message, ``on_data_start`` awaited just before the body "goes out", and an exception from a
callback (or a simulated crash) stops the sending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Self

from digest.deliver.transport import (
    OnDataStart,
    Outcome,
    SendResult,
)
from digest.deliver.transport.base import ConcurrentTransport, data_starting
from digest.models import OutgoingMessage

# sent: 250 after the body. deferred: 450 to RCPT; "deferred after data": 451 to the body.
# failed: 550 to RCPT. dropped: the connection is lost after DATA began. crash: the sending
# process dies after DATA began ("crash before data": before it), as Crash raised.
Answer = Literal[
    "sent", "deferred", "deferred after data", "failed", "dropped", "crash", "crash before data"
]

_REPLIES: dict[str, tuple[Outcome, int | None, str, bool]] = {
    "sent": ("sent", 250, "250 2.0.0 queued", True),
    "deferred": ("temporary", 450, "RCPT TO: 450 4.2.1 mailbox busy", False),
    "deferred after data": ("temporary", 451, "end of data: 451 4.3.0 try later", True),
    "failed": ("permanent", 550, "RCPT TO: 550 5.1.1 no such user", False),
    "dropped": ("ambiguous", None, "end of data: SMTPServerDisconnected", True),
}


class Crash(Exception):
    """Stands for the process dying mid-send: nothing after it runs in the send loop."""


class FakeTransport(ConcurrentTransport):
    """Answers each recipient's attempts in the order scripted, then ``sent`` forever after."""

    def __init__(
        self, answers: Mapping[str, Sequence[Answer]] | None = None, *, workers: int = 1
    ) -> None:
        self.answers = {recipient: list(a) for recipient, a in (answers or {}).items()}
        self.workers = workers
        self.attempted: list[str] = []  # recipients, one per transaction begun
        self.bodies: list[str] = []  # recipients whose body began to go out
        self.delivered: list[OutgoingMessage] = []  # accepted with a 250
        self.opened = 0

    def script(self, recipient: str, *answers: Answer) -> None:
        self.answers.setdefault(recipient, []).extend(answers)

    async def __aenter__(self) -> Self:
        self.opened += 1
        return self

    async def send(
        self, message: OutgoingMessage, on_data_start: OnDataStart | None = None
    ) -> SendResult:
        self.attempted.append(message.recipient)
        pending = self.answers.get(message.recipient)
        answer: Answer = pending.pop(0) if pending else "sent"
        if answer == "crash before data":
            raise Crash(message.recipient)
        if answer == "crash":
            await data_starting(message, on_data_start)
            self.bodies.append(message.recipient)
            raise Crash(message.recipient)
        outcome, code, detail, started = _REPLIES[answer]
        if started:
            await data_starting(message, on_data_start)
            self.bodies.append(message.recipient)
        if outcome == "sent":
            self.delivered.append(message)
        return SendResult(message.message_id, message.recipient, outcome, code, detail, started)
