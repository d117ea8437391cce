"""The wire layer: hand an :class:`~digest.models.OutgoingMessage` over and say what happened.

Two transports with one interface (:class:`Transport`): :class:`SmtpPool` speaks SMTP over a
bounded pool of reused connections; :class:`OutboxDir` writes .eml and .html files. Both give
one :class:`SendResult` per message and call ``on_data_start`` just before the body goes out.
:func:`transport_for` picks the one the settings ask for.
"""

from digest.config import Settings
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
    "transport_for",
]


def transport_for(settings: Settings) -> Transport:
    """The run's transport: an SMTP pool when ``DIGEST_SMTP_URL`` is set, else the outbox folder.

    Build it inside the event loop that uses it (the pool's connections belong to that loop).
    """
    target = settings.smtp
    if target is None:
        return OutboxDir(settings.outbox_dir)
    return SmtpPool(
        target,
        size=settings.smtp_pool_size,
        messages_per_connection=settings.smtp_messages_per_connection,
        timeout=target.timeout,
        max_per_second=settings.smtp_max_per_second,
    )
