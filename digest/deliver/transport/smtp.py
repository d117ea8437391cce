"""SmtpPool: a bounded set of reused SMTP connections that says what became of every message.

aiosmtplib opens each connection; the transactions then run on :mod:`digest.deliver.transport.smtp_session`
(MAIL, RCPT and DATA in one write where the server offers PIPELINING). ``on_data_start`` is called
once the server has answered 354 to DATA, and only then is the body written, so after a lost
connection the caller knows whether the body may have gone out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
from types import TracebackType
from typing import Self

import aiosmtplib
from aiosmtplib import SMTPException, SMTPResponse, SMTPResponseException
from aiosmtplib.email import quote_address

from digest.config import SmtpTarget
from digest.deliver.transport.base import (
    Messages,
    OnDataStart,
    OnResult,
    Outcome,
    SendResult,
    data_starting,
    send_concurrently,
)
from digest.deliver.transport.smtp_session import Reply, SmtpSession
from digest.models import OutgoingMessage

BACKOFF_CODES = frozenset({421, 451, 452})  # the server is busy: every connection waits a while
_STEPS = ("MAIL FROM", "RCPT TO", "DATA")
_EXPECTED = ((250,), (250, 251), (354,))  # the replies that let a transaction go on
_NETWORK_ERRORS = (SMTPException, OSError, TimeoutError)
_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def smtp_path(address: str) -> str:
    """'<addr>' for MAIL FROM / RCPT TO, as aiosmtplib's ``quote_address`` makes it.

    A plain address is used as it is; anything else (a display name, non-ASCII) goes through
    aiosmtplib, which parses it. Its result is cached, since the sender (usually
    'Name <addr>') is the same for every message. Raises ValueError for a control character,
    which could smuggle in a command.
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoted(address)


@functools.lru_cache(maxsize=256)
def _quoted(address: str) -> str:
    path = quote_address(address)
    if _CONTROL_CHARACTERS.search(path):
        raise ValueError(f"control character in address {address!r}")
    return path


def wire_body(data: bytes, crlf_only: bool = False) -> bytes:
    """The message as it travels after DATA: CRLF line ends, leading dots doubled, final dot.

    ``crlf_only`` data (built by :mod:`digest.render.mime`) is taken as it is. Other data is counted
    (C speed) first, so the regular expression runs only when some line end is not CRLF.
    """
    if not crlf_only:
        crlf = data.count(b"\r\n")
        if data.count(b"\r") != crlf or data.count(b"\n") != crlf:
            data = _LINE_ENDINGS.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    data = data.replace(b"\r\n.", b"\r\n..")  # every line end is CRLF now
    return (b"." if data.startswith(b".") else b"") + data + b".\r\n"


class SmtpPool:
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
        self._size = max(1, size)
        self._per_connection = max(1, messages_per_connection)
        self._timeout = target.timeout if timeout is None else timeout
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._give_up_after = give_up_after
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(self._size)
        self._idle: list[SmtpSession] = []
        self._paused_until = 0.0
        self._backoff_level = 0
        self._next_start = 0.0
        self._connect_failures = 0
        self._last_connect_error = ""
        self.connections_opened = 0

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
        """QUIT every idle connection; the pool can still be used afterwards."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(connection) for connection in idle))

    async def send_many(
        self,
        messages: Messages,
        *,
        on_data_start: OnDataStart | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        """Send over up to ``size`` connections at once; see :func:`send_concurrently`."""
        await send_concurrently(
            self.send,
            messages,
            workers=self._size,
            on_data_start=on_data_start,
            on_result=on_result,
        )

    async def send(
        self, message: OutgoingMessage, on_data_start: OnDataStart | None = None
    ) -> SendResult:
        """One SMTP transaction for ``message``, waiting for a free connection first."""
        async with self._slots:
            if self._connect_failures >= self._give_up_after:
                detail = f"not attempted, server unreachable: {self._last_connect_error}"
                return _result(message, "temporary", None, detail, started=False)
            await self._wait_turn()
            connection = self._take_idle()
            if connection is None:
                try:
                    connection = await self._connect()
                except _NETWORK_ERRORS as exc:
                    return self._connect_failed(message, exc)
            try:
                result = await self._transact(connection, message, on_data_start)
            except BaseException:
                connection.close()
                raise
            await self._release(connection)
            return result

    async def _transact(
        self, connection: SmtpSession, message: OutgoingMessage, on_data_start: OnDataStart | None
    ) -> SendResult:
        connection.transactions += 1
        refusal = await self._envelope_and_data_command(connection, message)
        if refusal is not None:
            return refusal
        await data_starting(message, on_data_start)  # if it raises, the caller closes: no mail
        return await self._send_body(connection, message)

    async def _envelope_and_data_command(
        self, connection: SmtpSession, message: OutgoingMessage
    ) -> SendResult | None:
        addresses_ascii = (message.sender + message.recipient).isascii()
        if not addresses_ascii and not connection.supports("smtputf8"):
            detail = "MAIL FROM: the server lacks SMTPUTF8, needed for a non-ASCII address"
            return _result(message, "permanent", None, detail, started=False)
        options = b" SMTPUTF8" if not addresses_ascii else b""
        if not message.data.isascii() and connection.supports("8bitmime"):
            options += b" BODY=8BITMIME"
        encoding = "ascii" if addresses_ascii else "utf-8"
        paths = []
        for step, address in zip(_STEPS, (message.sender, message.recipient), strict=False):
            try:
                paths.append(smtp_path(address).encode(encoding))
            except ValueError as exc:  # a control character in an address: never sent
                return _result(message, "permanent", None, f"{step}: {exc}", started=False)
        lines = (
            b"MAIL FROM:" + paths[0] + options + b"\r\n",
            b"RCPT TO:" + paths[1] + b"\r\n",
            b"DATA\r\n",
        )
        try:
            replies = await connection.commands(lines)
        except SMTPException as exc:
            connection.close()
            return _result(message, "temporary", None, f"MAIL FROM: {_describe(exc)}", False)
        for step, expected, reply in zip(_STEPS, _EXPECTED, replies, strict=False):
            if not isinstance(reply, SMTPResponse):
                connection.close()
                detail = f"{step}: {_describe(reply)}"
                return _result(message, "temporary", None, detail, started=False)
            if reply.code not in expected:
                await self._end_refused_data(connection, replies)
                return await self._refused(
                    connection, message, step, reply.code, reply.message, False
                )
        return None

    async def _end_refused_data(self, connection: SmtpSession, replies: list[Reply]) -> None:
        """A server may still take DATA (354) after refusing MAIL or RCPT in the same pipelined
        group: an empty body ends that transaction, which it then refuses (RFC 2920)."""
        last = replies[-1] if len(replies) == len(_STEPS) else None
        if isinstance(last, SMTPResponse) and last.code == 354:
            connection.write(b".\r\n")
            await connection.replies(1)

    async def _send_body(self, connection: SmtpSession, message: OutgoingMessage) -> SendResult:
        step = "end of data"
        try:
            connection.write(wire_body(message.data, message.crlf_only))
            reply = await connection.reply()
        except SMTPException as exc:
            connection.close()
            return _result(message, "ambiguous", None, f"{step}: {_describe(exc)}", started=True)
        if not 200 <= reply.code < 300:
            return await self._refused(connection, message, step, reply.code, reply.message, True)
        self._backoff_level = 0
        return _result(message, "sent", reply.code, f"{reply.code} {reply.message}", started=True)

    async def _refused(
        self,
        connection: SmtpSession,
        message: OutgoingMessage,
        step: str,
        code: int,
        text: str,
        started: bool,
    ) -> SendResult:
        """A reply that ends the transaction: 4xx temporary, 5xx permanent, garbage ambiguous."""
        outcome: Outcome
        if 400 <= code < 500:
            outcome = "temporary"
        elif 500 <= code < 600:
            outcome = "permanent"
        else:
            outcome = "ambiguous" if started else "temporary"
            connection.close()
        if code in BACKOFF_CODES:
            self._back_off()
        if code == 421:
            connection.close()
        await self._reset(connection)
        return _result(message, outcome, code, f"{step}: {code} {text}".strip(), started)

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
        self._last_connect_error = _describe(exc)
        self._back_off()
        code = exc.code if isinstance(exc, SMTPResponseException) else None
        where = f"{self._target.hostname}:{self._target.port}"
        detail = f"connect to {where}: {self._last_connect_error}"
        return _result(message, "temporary", code, detail, started=False)

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

    async def _reset(self, connection: SmtpSession) -> None:
        try:
            await connection.reset()
        except _NETWORK_ERRORS:
            connection.close()

    async def _quit(self, connection: SmtpSession) -> None:
        with contextlib.suppress(*_NETWORK_ERRORS):
            await connection.quit()
        connection.close()

    def _back_off(self) -> None:
        """Pause new transactions; a refusal during a pause does not lengthen it again."""
        now = asyncio.get_running_loop().time()
        if now < self._paused_until:
            return
        delay = min(self._backoff * 2**self._backoff_level, self._max_backoff)
        self._backoff_level += 1
        self._paused_until = now + delay

    async def _wait_turn(self) -> None:
        loop = asyncio.get_running_loop()
        while (pause := self._paused_until - loop.time()) > 0:
            await asyncio.sleep(pause)
        if self._interval:
            now = loop.time()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
            await asyncio.sleep(start - now)


def _result(
    message: OutgoingMessage, outcome: Outcome, code: int | None, detail: str, started: bool
) -> SendResult:
    return SendResult(
        message_id=message.message_id,
        recipient=message.recipient,
        outcome=outcome,
        code=code,
        detail=detail,
        data_started=started,
    )


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
