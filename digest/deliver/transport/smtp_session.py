"""One SMTP connection once it is open: commands written together, replies read in order.

aiosmtplib opens the connection (TLS or STARTTLS, EHLO, AUTH); then its transport is handed to
the small protocol here. aiosmtplib reads each reply under a lock, with a regular expression per
argument and a timeout wrapper, and cannot read the replies of commands written together. A
server that offers PIPELINING (RFC 2920) gets MAIL, RCPT and DATA in one write, so a message
costs two round trips instead of four.

What it buys: bench/deliver.py's ``transport_ratio`` (digest's pool alone over a pool of
aiosmtplib's own ``sendmail``) was 2.3 with this session and 1.7 with the same pool reading
replies through aiosmtplib's ``execute_command``/``read_response``; ``sqlite_ratio`` 0.40-0.42
against 0.29-0.34 (medians of two sets of interleaved runs, 5000 messages to smtp-sink, on a
shared 2-core machine). Client CPU per message alone: 83 µs here, 126 µs through aiosmtplib's
commands, 407 µs through its ``sendmail``. What it relies on beyond aiosmtplib's documented API:
the ``SMTP.transport`` attribute is the connection's (TLS) transport and its protocol reads the
replies, and ``SMTP.close()`` closes it; pyproject.toml pins aiosmtplib below its next minor and
tests/integration/test_library_contracts.py checks these.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

import aiosmtplib
from aiosmtplib import (
    SMTPException,
    SMTPReadTimeoutError,
    SMTPResponse,
    SMTPResponseException,
    SMTPServerDisconnected,
)

_MAX_REPLY_LINE = 8192  # bytes; aiosmtplib allows the same
_MAX_BUFFER = 1 << 20


class ReplyReader(asyncio.Protocol):
    """SMTP replies, handed out in the order they arrive to those who asked for one.

    A reply nobody has asked for yet (the server may answer before the last command of a
    group is written) waits for the next request. When the connection is lost or a wait times
    out, every pending request fails and the connection is closed, so a late reply can never
    be taken for the answer to a later command.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._buffer = bytearray()
        self._lines: list[bytes] = []  # the lines so far of a multi-line reply
        self._waiting: deque[asyncio.Future[SMTPResponse]] = deque()
        self._unclaimed: deque[SMTPResponse] = deque()
        self._failure: SMTPException | None = None  # once set, the connection is over

    @property
    def closed(self) -> bool:
        return self._failure is not None or self._transport.is_closing()

    def next_reply(self) -> asyncio.Future[SMTPResponse]:
        waiter: asyncio.Future[SMTPResponse] = asyncio.get_running_loop().create_future()
        if self._unclaimed:
            waiter.set_result(self._unclaimed.popleft())
        elif self._failure is not None:
            waiter.set_exception(self._failure)
        else:
            self._waiting.append(waiter)
        return waiter

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if len(line) > _MAX_REPLY_LINE or not line[:3].isdigit():
                text = line[:200].decode("utf-8", "replace").strip()
                self.fail(SMTPResponseException(-1, f"Malformed SMTP reply line: {text}"))
                return
            self._lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] == b"-":
                continue
            text = b"\n".join(self._lines).decode("utf-8", "surrogateescape")
            self._lines = []
            self._deliver(SMTPResponse(int(line[:3]), text))
        if len(self._buffer) > _MAX_BUFFER:
            self.fail(SMTPResponseException(-1, "SMTP reply too long"))

    def _deliver(self, reply: SMTPResponse) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(reply)
                return
        self._unclaimed.append(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(SMTPServerDisconnected(f"Connection lost{f': {exc}' if exc else ''}"))

    def eof_received(self) -> bool:
        self.fail(SMTPServerDisconnected("Connection closed by the server"))
        return False

    def fail(self, failure: SMTPException) -> None:
        """End the connection: pending and later requests get ``failure`` (the first one)."""
        if self._failure is None:
            self._failure = failure
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(self._failure)
        self._transport.close()


Reply = SMTPResponse | SMTPException  # a reply, or why none came


class SmtpSession:
    """An open connection from aiosmtplib, carrying transactions from now on."""

    def __init__(self, smtp: aiosmtplib.SMTP, timeout: float | None) -> None:
        transport = smtp.transport
        if not isinstance(transport, asyncio.Transport) or transport.is_closing():
            raise SMTPServerDisconnected("Connection lost before the first transaction")
        self._smtp = smtp  # closing it also releases its connect lock
        self._transport = transport
        self._timeout = timeout
        self._reader = ReplyReader(transport)
        transport.set_protocol(self._reader)
        self.pipelining = smtp.supports_extension("pipelining")
        self.transactions = 0

    @classmethod
    async def open(cls, smtp: aiosmtplib.SMTP, timeout: float | None) -> SmtpSession:
        """Connect ``smtp`` (with its TLS and login settings), greet, and take it over."""
        await smtp.connect()
        try:
            if smtp.is_ehlo_or_helo_needed:
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()
            return cls(smtp, timeout)
        except BaseException:
            smtp.close()
            raise

    @property
    def is_open(self) -> bool:
        return not self._reader.closed

    def supports(self, extension: str) -> bool:
        return self._smtp.supports_extension(extension)

    async def commands(self, lines: Sequence[bytes]) -> list[Reply]:
        """Send the command lines, pipelined when the server allows; a reply for each.

        Without PIPELINING the commands go one by one, stopping after the first reply that is
        not 2xx or 3xx (the list is then shorter). A missing reply ends the connection: it and
        the replies after it are the exception that says why.
        """
        if self.pipelining:
            self.write(b"".join(lines))
            return await self.replies(len(lines))
        replies: list[Reply] = []
        for line in lines:
            self.write(line)
            (reply,) = await self.replies(1)
            replies.append(reply)
            if not isinstance(reply, SMTPResponse) or not 200 <= reply.code < 400:
                break
        return replies

    def write(self, data: bytes) -> None:
        if self._reader.closed:
            raise SMTPServerDisconnected("Connection lost")
        self._transport.write(data)

    async def replies(self, count: int) -> list[Reply]:
        """The next ``count`` replies, all within the session's timeout."""
        waiters = [self._reader.next_reply() for _ in range(count)]
        timer = None
        if self._timeout is not None and not all(waiter.done() for waiter in waiters):
            timer = asyncio.get_running_loop().call_later(
                self._timeout,
                self._reader.fail,
                SMTPReadTimeoutError("Timed out waiting for server response"),
            )
        replies: list[Reply] = []
        try:
            for waiter in waiters:
                try:
                    replies.append(await waiter)
                except SMTPException as exc:
                    replies.append(exc)
        finally:
            if timer is not None:
                timer.cancel()
        return replies

    async def reply(self) -> SMTPResponse:
        """The next reply; raises the SMTPException that says why none came."""
        (reply,) = await self.replies(1)
        if isinstance(reply, SMTPException):
            raise reply
        return reply

    async def reset(self) -> None:
        """RSET, so the connection can carry the next transaction; closed if that fails."""
        if not self.is_open:
            return
        (reply,) = await self.commands([b"RSET\r\n"])
        if not isinstance(reply, SMTPResponse) or reply.code != 250:
            self.close()

    async def quit(self) -> None:
        if self.is_open:
            await self.commands([b"QUIT\r\n"])
        self.close()

    def close(self) -> None:
        self._reader.fail(SMTPServerDisconnected("Connection closed"))
        self._smtp.close()
