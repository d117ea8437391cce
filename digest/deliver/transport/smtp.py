"""SmtpPool: a bounded set of reused SMTP connections that says what became of every message.

aiosmtplib opens each connection (TLS, EHLO, AUTH); the transactions then run on
:mod:`digest.deliver.transport.smtp_session` (MAIL, RCPT and DATA in one write where the server
offers PIPELINING), one at a time per connection, as
:mod:`digest.deliver.transport.smtp_transaction` says. :class:`Pacing` holds every connection
back while the server says it is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

import aiosmtplib
from aiosmtplib import SMTPResponseException

from digest.config import SmtpTarget
from digest.deliver.transport.base import (
    ConcurrentTransport,
    OnDataStart,
    SendResult,
)
from digest.deliver.transport.pacing import Pacing
from digest.deliver.transport.smtp_session import SmtpSession
from digest.deliver.transport.smtp_transaction import (
    BACKOFF_CODES,
    NETWORK_ERRORS,
    describe,
    result_of,
    transact,
)
from digest.models import OutgoingMessage

__all__ = ["BACKOFF_CODES", "SmtpPool"]


class SmtpPool(ConcurrentTransport):
    """Up to ``size`` SMTP connections, opened when first needed and reused.

    Each connection carries at most ``messages_per_connection`` transactions, then says QUIT and
    a fresh one is opened. A connection that failed is dropped; after a refused message the
    connection is RSET and reused. Every step has ``timeout`` seconds (default: the URL's
    ``?timeout=``, 30 s). ``max_per_second`` caps the rate across all connections.

    A 421, 451 or 452 reply, or a failed connect, pauses new transactions on every connection for
    ``backoff`` seconds, doubling while the server keeps refusing, at most ``max_backoff``. After
    ``give_up_after`` failed connects in a row the pool stops trying: remaining messages come
    back ``temporary`` at once, so a down server costs seconds, not one timeout per message.

    ``tls_context`` overrides certificate checking (tests, private CAs). Without ``?starttls=1``
    the connection is still upgraded when the server offers STARTTLS.
    """

    def __init__(
        self,
        target: SmtpTarget,
        *,
        size: int = 4,
        messages_per_connection: int = 100,
        timeout: float | None = None,
        max_per_second: float | None = None,
        backoff: float = 5.0,
        max_backoff: float = 60.0,
        give_up_after: int = 3,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._target = target
        self._size = self.workers = max(1, size)
        self._per_connection = max(1, messages_per_connection)
        self._timeout = target.timeout if timeout is None else timeout
        self._pacing = Pacing(
            backoff=backoff, max_backoff=max_backoff, max_per_second=max_per_second
        )
        self._give_up_after = give_up_after
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(self._size)
        self._idle: list[SmtpSession] = []
        self._connect_failures = 0
        self._last_connect_error = ""
        self.connections_opened = 0

    async def aclose(self) -> None:
        """QUIT every idle connection; the pool can still be used afterwards."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(connection) for connection in idle))

    async def send(
        self, message: OutgoingMessage, on_data_start: OnDataStart | None = None
    ) -> SendResult:
        """One SMTP transaction for ``message``, waiting for a free connection first."""
        async with self._slots:
            if self._connect_failures >= self._give_up_after:
                detail = f"not attempted, server unreachable: {self._last_connect_error}"
                return result_of(message, "temporary", None, detail, started=False)
            await self._pacing.wait_turn()
            connection = self._take_idle()
            if connection is None:
                try:
                    connection = await self._connect()
                except NETWORK_ERRORS as exc:
                    return self._connect_failed(message, exc)
            try:
                result = await transact(connection, message, on_data_start, self._pacing)
            except BaseException:
                connection.close()
                raise
            await self._release(connection)
            return result

    async def _connect(self) -> SmtpSession:
        target = self._target
        smtp = aiosmtplib.SMTP(
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=True if target.start_tls else (False if target.use_tls else None),
            timeout=self._timeout,
            tls_context=self._tls_context,
            local_hostname=self._local_hostname,
        )
        session = await SmtpSession.open(smtp, self._timeout)
        self._connect_failures = 0
        self.connections_opened += 1
        return session

    def _connect_failed(self, message: OutgoingMessage, exc: BaseException) -> SendResult:
        self._connect_failures += 1
        self._last_connect_error = describe(exc)
        self._pacing.back_off()
        code = exc.code if isinstance(exc, SMTPResponseException) else None
        where = f"{self._target.hostname}:{self._target.port}"
        detail = f"connect to {where}: {self._last_connect_error}"
        return result_of(message, "temporary", code, detail, started=False)

    def _take_idle(self) -> SmtpSession | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.is_open:
                return connection
            connection.close()  # the server hung up while it was idle
        return None

    async def _release(self, connection: SmtpSession) -> None:
        if connection.is_open and connection.transactions < self._per_connection:
            self._idle.append(connection)
        else:
            await self._quit(connection)

    async def _quit(self, connection: SmtpSession) -> None:
        with contextlib.suppress(*NETWORK_ERRORS):
            await connection.quit()
        connection.close()
