"""The bounce mailbox against a real dovecot on loopback: fetched, handed over, moved, bounded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.deliver.bounce_mailbox import Mailbox, fetch_reports
from digest.errors import DigestError
from tests.dovecot import PASSWORD, USER, Dovecot

REPORTS = Path(__file__).parents[1] / "fixtures" / "bounce-mailbox"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


def mailbox_on(server: Dovecot, **overrides: object) -> Mailbox:
    """A mailbox with folders of its own, so the tests sharing the server never meet."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, object] = dict(
        host="127.0.0.1",
        port=server.port,
        user=USER,
        password=PASSWORD,
        folder=f"bounces-{tag}",
        done_folder=f"done-{tag}",
        tls=False,
        timeout=10.0,
    )
    values.update(overrides)
    return Mailbox(**values)  # type: ignore[arg-type]


def reports() -> list[bytes]:
    return [path.read_bytes() for path in sorted(REPORTS.glob("*.eml"))]


def test_each_handled_report_is_moved_to_the_done_folder(dovecot: Dovecot) -> None:
    mailbox = mailbox_on(dovecot)
    for raw in reports():
        dovecot.append(mailbox.folder, raw)
    handed: list[bytes] = []

    report = fetch_reports(mailbox, lambda raw: handed.append(raw) or len(raw))

    assert handed == reports()  # the exact bytes, in arrival order
    assert report.results == [len(raw) for raw in reports()]
    assert (report.moved, report.failed, report.left) == (2, [], 0)
    assert dovecot.messages(mailbox.folder) == []
    assert dovecot.messages(mailbox.done_folder) == reports()


def test_a_report_whose_handler_fails_stays_for_the_next_fetch(dovecot: Dovecot) -> None:
    mailbox = mailbox_on(dovecot)
    arf, dsn = reports()
    for raw in (arf, dsn):
        dovecot.append(mailbox.folder, raw)

    def handle(raw: bytes) -> str:
        if b"feedback-report" in raw:
            raise RuntimeError("database is locked")
        return "recorded"

    report = fetch_reports(mailbox, handle)

    assert report.results == ["recorded"]
    assert len(report.failed) == 1 and "database is locked" in report.failed[0]
    assert dovecot.messages(mailbox.folder) == [arf]
    assert dovecot.messages(mailbox.done_folder) == [dsn]
    assert fetch_reports(mailbox, lambda raw: "recorded").results == ["recorded"]
    assert dovecot.messages(mailbox.folder) == []


def test_one_fetch_takes_at_most_its_limit(dovecot: Dovecot) -> None:
    mailbox = mailbox_on(dovecot)
    for raw in reports() * 2:
        dovecot.append(mailbox.folder, raw)

    report = fetch_reports(mailbox, lambda raw: None, limit=3)

    assert (report.moved, report.left) == (3, 1)
    assert len(dovecot.messages(mailbox.folder)) == 1
    assert len(dovecot.messages(mailbox.done_folder)) == 3


def test_an_empty_folder_fetches_nothing(dovecot: Dovecot) -> None:
    mailbox = mailbox_on(dovecot)
    dovecot.append(mailbox.folder, reports()[0])
    fetch_reports(mailbox, lambda raw: None)

    again = fetch_reports(mailbox, lambda raw: pytest.fail("nothing should be handed over"))

    assert (again.moved, again.failed, again.left) == (0, [], 0)


def test_a_missing_folder_is_one_line(dovecot: Dovecot) -> None:
    mailbox = mailbox_on(dovecot, folder="no-such-folder")
    with pytest.raises(DigestError, match="'no-such-folder' cannot be opened"):
        fetch_reports(mailbox, lambda raw: None)


def test_tls_against_a_plain_server_is_one_line(dovecot: Dovecot) -> None:
    mailbox = mailbox_on(dovecot, tls=True)
    with pytest.raises(
        DigestError, match=f"cannot reach the bounce mailbox at 127.0.0.1:{dovecot.port}"
    ):
        fetch_reports(mailbox, lambda raw: None)


def test_nothing_listening_is_one_line() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailbox = Mailbox(host="127.0.0.1", port=port, user=USER, password="x", tls=False)
    with pytest.raises(DigestError, match=f"cannot reach the bounce mailbox at 127.0.0.1:{port}"):
        fetch_reports(mailbox, lambda raw: None)


def test_a_server_without_move_gets_copy_and_expunge() -> None:
    """MOVE (RFC 6851) is not everywhere: COPY, flag \\Deleted and EXPUNGE move the same way,
    and a message left in the folder is not expunged with it."""
    with Dovecot(extra_config="imap_capability = IMAP4rev1 LITERAL+ IDLE\n") as old_server:
        mailbox = mailbox_on(old_server)
        arf, dsn = reports()
        for raw in (arf, dsn):
            old_server.append(mailbox.folder, raw)

        def handle(raw: bytes) -> None:
            if raw == dsn:
                raise RuntimeError("not now")

        report = fetch_reports(mailbox, handle)

        assert (report.moved, len(report.failed)) == (1, 1)
        assert old_server.messages(mailbox.folder) == [dsn]
        assert old_server.messages(mailbox.done_folder) == [arf]


def test_a_wrong_password_is_one_line_naming_the_mailbox(dovecot: Dovecot) -> None:
    """Last in the module: dovecot slows the next logins from this address after a failure."""
    mailbox = mailbox_on(dovecot, password="wrong")
    with pytest.raises(DigestError) as caught:
        fetch_reports(mailbox, lambda raw: None)
    message = str(caught.value)
    assert f"127.0.0.1:{dovecot.port} refused the login of 'bounces'" in message
    assert "\n" not in message
