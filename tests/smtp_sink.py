"""A real SMTP server on loopback for tests: records what arrives and misbehaves on request.

    with SmtpSink() as sink:
        sink.reply(550, at="rcpt", recipient="gone@example.org")
        sink.drop_during_data(nth=3)           # the third transaction loses its connection
        sink.delay(2.0, at="data", times=1)    # the first DATA command waits 2 s
        ... send to 127.0.0.1:sink.port ...
        assert [m.rcpt_tos for m in sink.messages] == ...

Stages a rule can act at: ``mail`` (MAIL FROM), ``rcpt`` (RCPT TO), ``data`` (the DATA command,
before 354) and ``message`` (the final reply, after the whole body arrived). A rule matches a
``recipient`` (case-insensitive; at ``data``/``message`` any recipient of the transaction) and/or
the ``nth`` transaction the sink has seen (1-based, counted at MAIL FROM), fires ``times`` times
(None: every time), and the first matching rule wins. A 421 reply closes the connection, as
real servers do. The server runs aiosmtpd in its own thread, so plain synchronous tests can use
it while the code under test runs its own event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["mail", "rcpt", "data", "message"]
Action = Literal["reply", "delay", "drop"]


@dataclass(frozen=True)
class Received:
    """One accepted message: envelope, raw bytes and the connection it came on."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    session: int  # 1-based number of the connection, for asserting reuse
    login: str | None  # the AUTH user of that connection
    tls: bool
    at: float  # time.monotonic() when the message was accepted


@dataclass
class _Rule:
    stage: Stage
    action: Action
    code: int = 0
    text: str = ""
    seconds: float = 0.0
    after_bytes: int = 0
    recipient: str | None = None
    nth: int | None = None
    times: int | None = None

    def matches(self, stage: Stage, transaction: int, recipients: tuple[str, ...]) -> bool:
        if stage != self.stage or self.times == 0:
            return False
        if self.nth is not None and self.nth != transaction:
            return False
        wanted = self.recipient
        return wanted is None or wanted.lower() in (r.lower() for r in recipients)


class SmtpSink:
    """aiosmtpd on 127.0.0.1 and a free port; see the module docstring for the script rules.

    ``tls_context`` (server side) offers STARTTLS and ``require_starttls`` insists on it;
    ``credentials=(user, password)`` offers AUTH PLAIN/LOGIN and requires it. ``pipelining``
    offers PIPELINING (RFC 2920; aiosmtpd reads pipelined commands in order either way);
    without it, ``SmtpSink.pipelining_by_default`` decides.
    """

    pipelining_by_default = False

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        credentials: tuple[str, str] | None = None,
        pipelining: bool | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self._tls_context = tls_context
        self._require_starttls = require_starttls
        self._credentials = credentials
        self.pipelining = self.pipelining_by_default if pipelining is None else pipelining
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._messages: list[Received] = []
        self._partial: list[bytes] = []
        self._sessions = itertools.count(1)
        self._session_total = 0
        self._transactions = 0
        self._controller: Controller | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
        if self._tls_context is not None:
            kwargs.update(tls_context=self._tls_context, require_starttls=self._require_starttls)
        if self._credentials is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self._tls_context is not None,
            )
        for _ in range(5):  # a free port can be taken between probing and binding
            self.port = _free_port(self.host)
            controller = _ScriptedController(self, hostname=self.host, port=self.port, **kwargs)
            try:
                controller.start()
            except RuntimeError:
                continue
            self._controller = controller
            return self
        raise RuntimeError("SmtpSink: no free port to listen on")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """A DIGEST_SMTP_URL for this sink (no TLS, no credentials)."""
        return f"smtp://{self.host}:{self.port}"

    # -- scripting -------------------------------------------------------------------------

    def reply(
        self,
        code: int,
        *,
        at: Stage = "rcpt",
        text: str | None = None,
        recipient: str | None = None,
        nth: int | None = None,
        times: int | None = None,
    ) -> None:
        """Answer ``code`` instead of going on (421 also closes the connection)."""
        default = {421: "4.3.2 Service not available, closing channel", 450: "4.2.0 Try later"}
        words = text or default.get(code, "Scripted reply")
        self._add(
            _Rule(at, "reply", code=code, text=words, recipient=recipient, nth=nth, times=times)
        )

    def delay(
        self,
        seconds: float,
        *,
        at: Stage = "data",
        recipient: str | None = None,
        nth: int | None = None,
        times: int | None = None,
    ) -> None:
        """Sleep before answering normally; at ``message`` the mail is still accepted."""
        self._add(_Rule(at, "delay", seconds=seconds, recipient=recipient, nth=nth, times=times))

    def drop_during_data(
        self,
        *,
        after_bytes: int = 64,
        recipient: str | None = None,
        nth: int | None = None,
        times: int | None = None,
    ) -> None:
        """Answer 354, read ``after_bytes`` of the body, then close without a reply."""
        self._add(
            _Rule(
                "data", "drop", after_bytes=after_bytes, recipient=recipient, nth=nth, times=times
            )
        )

    def _add(self, rule: _Rule) -> None:
        if rule.stage == "mail" and rule.recipient is not None:
            raise ValueError("recipients are not known yet at MAIL FROM; use nth")
        with self._lock:
            self._rules.append(rule)

    # -- what happened ---------------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """Accepted messages, in the order they were accepted."""
        with self._lock:
            return list(self._messages)

    @property
    def partial(self) -> list[bytes]:
        """What arrived of each message whose connection was dropped during DATA."""
        with self._lock:
            return list(self._partial)

    @property
    def sessions(self) -> int:
        """How many connections said EHLO/HELO."""
        with self._lock:
            return self._session_total

    # -- called from the server thread -----------------------------------------------------

    def _new_session(self) -> int:
        with self._lock:
            self._session_total += 1
            return next(self._sessions)

    def _new_transaction(self) -> int:
        with self._lock:
            self._transactions += 1
            return self._transactions

    def _take_rule(
        self, stage: Stage, transaction: int, recipients: tuple[str, ...]
    ) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(stage, transaction, recipients):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _record(self, message: Received) -> None:
        with self._lock:
            self._messages.append(message)

    def _record_partial(self, data: bytes) -> None:
        with self._lock:
            self._partial.append(data)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self._credentials is None:
            return AuthResult(success=False, handled=False)
        user, password = self._credentials
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


class _ScriptedSMTP(SMTP):
    """aiosmtpd's SMTP with a connection number, scripted DATA and closing after 421."""

    def __init__(self, sink: SmtpSink, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sink = sink
        self.number: int | None = None
        self.transaction = 0

    async def smtp_HELO(self, hostname: str) -> None:
        self._count_session()
        await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._count_session()
        await super().smtp_EHLO(hostname)

    def _count_session(self) -> None:
        if self.number is None:
            self.number = self.sink._new_session()

    async def push(self, status: Any) -> None:
        await super().push(status)
        text = status.encode() if isinstance(status, str) else status
        if text.startswith(b"421") and self.transport is not None:
            self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        if arg or envelope is None or not envelope.rcpt_tos or self.transport is None:
            await super().smtp_DATA(arg)
            return
        rule = self.sink._take_rule("data", self.transaction, tuple(envelope.rcpt_tos))
        if rule is not None and rule.action == "reply":
            await self.push(f"{rule.code} {rule.text}")
            return
        if rule is not None and rule.action == "delay":
            await asyncio.sleep(rule.seconds)
        if rule is not None and rule.action == "drop":
            await self._drop_after(rule.after_bytes)
            return
        await super().smtp_DATA(arg)

    async def _drop_after(self, count: int) -> None:
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        received = b""
        while len(received) < count and not received.endswith(b"\r\n.\r\n"):
            chunk = await self._reader.read(count - len(received))
            if not chunk:
                break
            received += chunk
        self.sink._record_partial(received)
        if self.transport is not None:
            self.transport.close()
            await asyncio.sleep(1)  # connection_lost cancels us; the unread rest is never parsed


class _Handler:
    """aiosmtpd hooks: apply the sink's rules at MAIL, RCPT and end of data; record mail."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self,
        server: _ScriptedSMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.sink.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self,
        server: _ScriptedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        server.transaction = self.sink._new_transaction()
        status = await self._scripted(server, "mail", ())
        if status is not None:
            return status
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: _ScriptedSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        status = await self._scripted(server, "rcpt", (address,))
        if status is not None:
            return status
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: _ScriptedSMTP, session: Session, envelope: Envelope) -> str:
        status = await self._scripted(server, "message", tuple(envelope.rcpt_tos))
        if status is not None:
            return status
        self.sink._record(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=envelope.original_content or b"",
                session=server.number or 0,
                login=session.auth_data if isinstance(session.auth_data, str) else None,
                tls=session.ssl is not None,
                at=time.monotonic(),
            )
        )
        return "250 2.0.0 Accepted"

    async def _scripted(
        self, server: _ScriptedSMTP, stage: Stage, recipients: tuple[str, ...]
    ) -> str | None:
        rule = self.sink._take_rule(stage, server.transaction, recipients)
        if rule is None:
            return None
        if rule.action == "delay":
            await asyncio.sleep(rule.seconds)
            return None
        return f"{rule.code} {rule.text}"


class _ScriptedController(Controller):
    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        super().__init__(_Handler(sink), ready_timeout=5.0, **kwargs)
        self.sink = sink

    def factory(self) -> SMTP:
        return _ScriptedSMTP(self.sink, self.handler, loop=self.loop, **self.SMTP_kwargs)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A (server, client) TLS context pair for 127.0.0.1, made with the openssl command.

    Raises FileNotFoundError when openssl is not installed, so a test can skip.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client
