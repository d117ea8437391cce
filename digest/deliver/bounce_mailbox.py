"""The bounce mailbox over IMAP: fetch each report, hand it to the ingest path, then move it.

Reports are moved to a done folder, never deleted: a report is evidence, and an operator who
doubts a decision can still read the message. A message moves only after its handler returned,
so a crash in between leaves it in the folder and the next fetch hands it over again (the
ingest path counts the same report once). Each fetch is bounded: at most ``limit`` messages,
each read up to ``MAX_MESSAGE_BYTES`` (a delivery report comes before the returned original).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from digest.config import Settings
from digest.errors import DigestError

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 5 * 1024 * 1024
_LITERAL_SIZE = re.compile(rb"\{(\d+)\}$")

T = TypeVar("T")


@dataclass(frozen=True)
class Mailbox:
    """Where the reports arrive (DIGEST_BOUNCE_IMAP_*); ``tls`` means IMAPS (port 993)."""

    host: str
    user: str
    password: str
    port: int | None = None
    folder: str = "INBOX"
    done_folder: str = "Processed"
    tls: bool = True
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailbox | None:
        """The configured mailbox, or None when DIGEST_BOUNCE_IMAP_HOST is unset."""
        if not settings.bounce_imap_host:
            return None
        return cls(
            host=settings.bounce_imap_host,
            port=settings.bounce_imap_port,
            user=settings.bounce_imap_user or "",
            password=settings.bounce_imap_password or "",
            folder=settings.bounce_imap_folder,
            done_folder=settings.bounce_imap_done_folder,
            tls=settings.bounce_imap_tls,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or (993 if self.tls else 143)}"


@dataclass
class FetchReport(Generic[T]):
    """What one fetch did: each handled message's result, and what it left in the folder."""

    results: list[T] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)  # each result's message, in the same order
    failed: list[str] = field(default_factory=list)  # "uid N: reason", left in the folder
    left: int = 0  # messages beyond this fetch's limit, for the next one

    @property
    def moved(self) -> int:
        return len(self.results)


def fetch_reports(
    mailbox: Mailbox, handle: Callable[[bytes], T], *, limit: int = 500
) -> FetchReport[T]:
    """Hand up to ``limit`` messages of the folder to ``handle``, moving each one it accepted.

    A message whose handler raises stays in the folder (named in ``failed``) and the fetch goes
    on; a connection, login or folder problem raises DigestError with one line.
    """
    report: FetchReport[T] = FetchReport()
    with _session(mailbox) as conn:
        uids = _waiting_uids(conn, mailbox)
        capabilities = _capabilities(conn)
        report.left = max(len(uids) - limit, 0)
        for uid in uids[:limit]:
            raw = _fetch_message(conn, uid)
            try:
                result = handle(raw)
            except Exception as exc:  # one bad report must not stop the others
                log.warning("bounce report uid %s left in the folder: %s", uid, exc)
                report.failed.append(f"uid {uid}: {exc}")
                continue
            _move(conn, uid, mailbox.done_folder, capabilities)
            report.results.append(result)
            report.uids.append(uid)
    return report


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    """A logged-in connection; every failure becomes one line that names the mailbox."""
    where = f"the bounce mailbox at {mailbox.address}"
    try:
        if mailbox.tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                mailbox.host,
                mailbox.port or 993,
                ssl_context=ssl.create_default_context(),
                timeout=mailbox.timeout,
            )
        else:
            conn = imaplib.IMAP4(mailbox.host, mailbox.port or 143, timeout=mailbox.timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise DigestError(f"cannot reach {where}: {_reason(exc)}") from None
    try:
        try:
            conn.login(mailbox.user, mailbox.password)
        except imaplib.IMAP4.error as exc:
            raise DigestError(
                f"{where} refused the login of {mailbox.user!r}: {_reason(exc)}"
            ) from None
        try:
            yield conn
        except (OSError, imaplib.IMAP4.error) as exc:
            raise DigestError(f"{where} failed: {_reason(exc)}") from None
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


def _waiting_uids(conn: imaplib.IMAP4, mailbox: Mailbox) -> list[str]:
    status, data = conn.select(_quoted(mailbox.folder))
    if status != "OK":
        raise DigestError(f"the bounce folder {mailbox.folder!r} cannot be opened: {_text(data)}")
    conn.create(_quoted(mailbox.done_folder))  # NO when it exists already: fine
    status, data = conn.uid("SEARCH", "UNDELETED")
    if status != "OK":
        raise DigestError(f"searching {mailbox.folder!r} failed: {_text(data)}")
    return [uid.decode() for uid in (data[0] or b"").split() if uid.isdigit()]


def _fetch_message(conn: imaplib.IMAP4, uid: str) -> bytes:
    """The message's bytes (the first MAX_MESSAGE_BYTES), without setting its \\Seen flag."""
    status, data = conn.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)")
    if status != "OK":
        raise imaplib.IMAP4.error(f"fetching uid {uid}: {_text(data)}")
    for part in data:
        if isinstance(part, tuple) and _LITERAL_SIZE.search(part[0]):
            return bytes(part[1])
    return b""


def _move(conn: imaplib.IMAP4, uid: str, folder: str, capabilities: frozenset[str]) -> None:
    """RFC 6851 MOVE where offered, else COPY, flag \\Deleted and expunge that one message."""
    if "MOVE" in capabilities:
        status, data = conn.uid("MOVE", uid, _quoted(folder))
    else:
        status, data = conn.uid("COPY", uid, _quoted(folder))
        if status == "OK":
            conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
            if "UIDPLUS" in capabilities:
                conn.uid("EXPUNGE", uid)
            else:
                conn.expunge()
    if status != "OK":
        raise imaplib.IMAP4.error(f"moving uid {uid} to {folder!r}: {_text(data)}")


def _capabilities(conn: imaplib.IMAP4) -> frozenset[str]:
    """The capabilities after login (a server may announce more than in its greeting)."""
    status, data = conn.capability()
    words = _text(data).upper().split() if status == "OK" else conn.capabilities
    return frozenset(words)


def _quoted(name: str) -> str:
    """An IMAP quoted string (imaplib sends mailbox names as they are given)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> str:
    if isinstance(data, list | tuple):
        return " ".join(_text(part) for part in data if part is not None)
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def _reason(exc: BaseException) -> str:
    return _text(exc.args[0]) if exc.args else type(exc).__name__
