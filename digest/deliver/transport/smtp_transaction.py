"""One SMTP transaction on an open session: envelope and DATA, the hook, the body, the verdict.

``on_data_start`` runs once the server has answered 354 to DATA, and only then is the body
written, so after a lost connection the caller knows whether the body may have gone out. The
pool (:mod:`digest.deliver.transport.smtp`) owns the connections; this module only says what
became of one message, and tells the pool's :class:`Pacing` when the server is busy.
"""

from __future__ import annotations

from aiosmtplib import SMTPException, SMTPResponse

from digest.deliver.transport.base import OnDataStart, Outcome, SendResult, data_starting
from digest.deliver.transport.pacing import Pacing
from digest.deliver.transport.smtp_session import Reply, SmtpSession
from digest.deliver.transport.smtp_wire import smtp_path, wire_body
from digest.models import OutgoingMessage

BACKOFF_CODES = frozenset({421, 451, 452})  # the server is busy: every connection waits a while
NETWORK_ERRORS = (SMTPException, OSError, TimeoutError)
_STEPS = ("MAIL FROM", "RCPT TO", "DATA")
_EXPECTED = ((250,), (250, 251), (354,))  # the replies that let a transaction go on


async def transact(
    connection: SmtpSession,
    message: OutgoingMessage,
    on_data_start: OnDataStart | None,
    pacing: Pacing,
) -> SendResult:
    """Send ``message`` over ``connection``; a refused message leaves the connection RSET."""
    connection.transactions += 1
    refusal = await _envelope_and_data_command(connection, message, pacing)
    if refusal is not None:
        return refusal
    await data_starting(message, on_data_start)  # if it raises, the caller closes: no mail
    return await _send_body(connection, message, pacing)


async def _envelope_and_data_command(
    connection: SmtpSession, message: OutgoingMessage, pacing: Pacing
) -> SendResult | None:
    """MAIL, RCPT and DATA; None once the server is ready for the body, else the verdict."""
    addresses_ascii = (message.sender + message.recipient).isascii()
    if not addresses_ascii and not connection.supports("smtputf8"):
        detail = "MAIL FROM: the server lacks SMTPUTF8, needed for a non-ASCII address"
        return result_of(message, "permanent", None, detail, started=False)
    options = b" SMTPUTF8" if not addresses_ascii else b""
    if not message.data.isascii() and connection.supports("8bitmime"):
        options += b" BODY=8BITMIME"
    encoding = "ascii" if addresses_ascii else "utf-8"
    paths = []
    for step, address in zip(_STEPS, (message.sender, message.recipient), strict=False):
        try:
            paths.append(smtp_path(address).encode(encoding))
        except ValueError as exc:  # a control character in an address: never sent
            return result_of(message, "permanent", None, f"{step}: {exc}", started=False)
    lines = (
        b"MAIL FROM:" + paths[0] + options + b"\r\n",
        b"RCPT TO:" + paths[1] + b"\r\n",
        b"DATA\r\n",
    )
    try:
        replies = await connection.commands(lines)
    except SMTPException as exc:
        connection.close()
        return result_of(message, "temporary", None, f"MAIL FROM: {describe(exc)}", False)
    for step, expected, reply in zip(_STEPS, _EXPECTED, replies, strict=False):
        if not isinstance(reply, SMTPResponse):
            connection.close()
            detail = f"{step}: {describe(reply)}"
            return result_of(message, "temporary", None, detail, started=False)
        if reply.code not in expected:
            await _end_refused_data(connection, replies)
            return await _refused(connection, message, pacing, step, reply, started=False)
    return None


async def _end_refused_data(connection: SmtpSession, replies: list[Reply]) -> None:
    """A server may still take DATA (354) after refusing MAIL or RCPT in the same pipelined
    group: an empty body ends that transaction, which it then refuses (RFC 2920)."""
    last = replies[-1] if len(replies) == len(_STEPS) else None
    if isinstance(last, SMTPResponse) and last.code == 354:
        connection.write(b".\r\n")
        await connection.replies(1)


async def _send_body(
    connection: SmtpSession, message: OutgoingMessage, pacing: Pacing
) -> SendResult:
    step = "end of data"
    try:
        connection.write(wire_body(message.data, message.crlf_only))
        reply = await connection.reply()
    except SMTPException as exc:
        connection.close()
        return result_of(message, "ambiguous", None, f"{step}: {describe(exc)}", started=True)
    if not 200 <= reply.code < 300:
        return await _refused(connection, message, pacing, step, reply, started=True)
    pacing.accepted()
    return result_of(message, "sent", reply.code, f"{reply.code} {reply.message}", started=True)


async def _refused(
    connection: SmtpSession,
    message: OutgoingMessage,
    pacing: Pacing,
    step: str,
    reply: SMTPResponse,
    *,
    started: bool,
) -> SendResult:
    """A reply that ends the transaction: 4xx temporary, 5xx permanent, garbage ambiguous."""
    code = reply.code
    outcome: Outcome
    if 400 <= code < 500:
        outcome = "temporary"
    elif 500 <= code < 600:
        outcome = "permanent"
    else:
        outcome = "ambiguous" if started else "temporary"
        connection.close()
    if code in BACKOFF_CODES:
        pacing.back_off()
    if code == 421:
        connection.close()
    await _reset(connection)
    return result_of(message, outcome, code, f"{step}: {code} {reply.message}".strip(), started)


async def _reset(connection: SmtpSession) -> None:
    try:
        await connection.reset()
    except NETWORK_ERRORS:
        connection.close()


def result_of(
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


def describe(exc: BaseException) -> str:
    """An exception as a log line: its type, and its message when it has one."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
