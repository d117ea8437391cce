"""The wire layer: hand an :class:`~digest.models.OutgoingMessage` over and say what happened.

Two transports with one interface (:class:`Transport`): :class:`SmtpPool` speaks SMTP over a
bounded pool of reused connections; :class:`OutboxDir` writes .eml and .html files. Both give
one :class:`SendResult` per message and call ``on_data_start`` just before the body goes out.
"""

from digest.deliver.transport.base import (
    Messages,
    OnDataStart,
    OnResult,
    Outcome,
    SendResult,
    Transport,
    send_concurrently,
)
from digest.deliver.transport.outbox import OutboxDir
from digest.deliver.transport.smtp import BACKOFF_CODES, SmtpPool

__all__ = [
    "BACKOFF_CODES",
    "Messages",
    "OnDataStart",
    "OnResult",
    "OutboxDir",
    "Outcome",
    "SendResult",
    "SmtpPool",
    "Transport",
    "send_concurrently",
]
