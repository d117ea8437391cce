"""What every transport promises: one :class:`SendResult` per message, and a hook before the body.

The outbox in :mod:`digest.deliver.send_loop` owns the state machine; a transport only moves
bytes and says what happened. The one fact the outbox must record *before* it is true is "the
body has begun to go out", because from then on a lost connection means the mail may or may not
have been delivered. ``on_data_start`` is called at exactly that moment, and ``data_started``
repeats it on the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol, Self

from digest.models import OutgoingMessage

Outcome = Literal["sent", "temporary", "permanent", "ambiguous"]
OnDataStart = Callable[[OutgoingMessage], Awaitable[None] | None]
OnResult = Callable[["SendResult"], None]
Messages = AsyncIterable[OutgoingMessage] | Iterable[OutgoingMessage]


@dataclass(frozen=True)
class SendResult:
    """What became of one message.

    ``outcome``:

    - ``sent``: the server accepted the message (2xx after the data).
    - ``temporary``: not delivered, try again later: a 4xx reply at any stage, or the connection
      failed or timed out before the server accepted the DATA command.
    - ``permanent``: a 5xx reply to MAIL, RCPT or DATA; do not retry this address as is.
    - ``ambiguous``: the body began to go out but no final reply came (drop or timeout). The
      mail may have been delivered; it must not be resent automatically.

    ``code`` is the server's reply code when there was one; ``detail`` says which step failed and
    why, in words fit for a log or an operator.
    """

    message_id: str
    recipient: str
    outcome: Outcome
    code: int | None
    detail: str
    data_started: bool


class Transport(Protocol):
    """A way to hand messages over: :class:`~digest.deliver.transport.SmtpPool` or ``OutboxDir``.

    ``send`` never raises for a failure of one message or of the network: that is the result's
    job. Exceptions raised by the callbacks propagate (and stop ``send_many``), so a failure to
    record progress durably also stops the sending; so does an unwritable ``OutboxDir`` folder
    (``OSError``), since no message of the run could be written.
    """

    async def send(
        self, message: OutgoingMessage, on_data_start: OnDataStart | None = None
    ) -> SendResult: ...

    async def send_many(
        self,
        messages: Messages,
        *,
        on_data_start: OnDataStart | None = None,
        on_result: OnResult | None = None,
    ) -> None: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ConcurrentTransport:
    """What every transport does the same way: ``async with`` closes it, and ``send_many``
    runs :meth:`send` for up to :attr:`workers` messages at once (see
    :func:`send_concurrently`). A subclass says how one message is sent."""

    workers: int = 1

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to close, unless the transport holds connections."""

    async def send(
        self, message: OutgoingMessage, on_data_start: OnDataStart | None = None
    ) -> SendResult:
        raise NotImplementedError

    async def send_many(
        self,
        messages: Messages,
        *,
        on_data_start: OnDataStart | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        await send_concurrently(
            self.send,
            messages,
            workers=self.workers,
            on_data_start=on_data_start,
            on_result=on_result,
        )


async def data_starting(message: OutgoingMessage, on_data_start: OnDataStart | None) -> None:
    """Run the hook (awaited when it returns an awaitable) before the body goes out."""
    if on_data_start is not None:
        pending = on_data_start(message)
        if pending is not None:
            await pending


async def send_concurrently(
    send: Callable[[OutgoingMessage, OnDataStart | None], Awaitable[SendResult]],
    messages: Messages,
    *,
    workers: int,
    on_data_start: OnDataStart | None = None,
    on_result: OnResult | None = None,
) -> None:
    """Send ``messages`` with at most ``workers`` in flight, reporting each result as it comes.

    Messages are drawn lazily, one at a time, so the caller may claim them from the database as
    it goes. The first exception (from a callback, or a bug) cancels the other workers and is
    re-raised as itself, not wrapped in an ExceptionGroup. A message cancelled that way gets no
    result: if ``on_data_start`` had been called for it, the caller's record of that is the
    truth (treat it as ambiguous); if not, it was never delivered.
    """
    source = _as_async_iterator(messages)
    lock = asyncio.Lock()

    async def next_message() -> OutgoingMessage | None:
        async with lock:
            return await anext(source, None)

    async def worker() -> None:
        while (message := await next_message()) is not None:
            result = await send(message, on_data_start)
            if on_result is not None:
                on_result(result)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, workers)):
                group.create_task(worker())
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    finally:
        await source.aclose()


async def _as_async_iterator(messages: Messages) -> AsyncGenerator[OutgoingMessage, None]:
    if isinstance(messages, AsyncIterable):
        async for message in messages:
            yield message
    else:
        for message in messages:
            yield message
