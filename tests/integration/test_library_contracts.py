"""What the delivery speed tricks take from aiosmtplib and psycopg beyond their documented API.

transport/smtp_session.py takes over the connection aiosmtplib opened (its ``transport``
attribute, swapped to a protocol of ours) and smtp_wire.py quotes addresses with
``aiosmtplib.email.quote_address``; pyproject.toml pins aiosmtplib below its next minor for
that. The send journal's group commit relies on psycopg preparing a statement once per
connection. When one of these tests fails after an upgrade, the trick must change before the
pin moves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtplib import SMTPResponse
from aiosmtplib.email import quote_address

from digest.deliver.transport.smtp_session import SmtpSession
from tests.smtp_sink import SmtpSink, self_signed_tls


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(pipelining=True) as running:
        yield running


def plain_smtp(sink: SmtpSink) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(hostname=sink.host, port=sink.port, start_tls=False, timeout=5)


def test_aiosmtplib_reads_replies_through_the_protocol_of_its_transport(sink: SmtpSink) -> None:
    async def run() -> None:
        smtp = plain_smtp(sink)
        await smtp.connect()
        await smtp.ehlo()
        assert isinstance(smtp.transport, asyncio.Transport)
        assert smtp.transport.get_protocol() is smtp.protocol  # so set_protocol redirects replies
        smtp.close()

    asyncio.run(run())


def test_after_starttls_aiosmtplib_holds_the_tls_transport(tmp_path: Path) -> None:
    try:
        server_tls, client_tls = self_signed_tls(tmp_path)
    except FileNotFoundError:
        pytest.skip("openssl command not installed")

    async def run(sink: SmtpSink) -> None:
        smtp = aiosmtplib.SMTP(
            hostname=sink.host, port=sink.port, start_tls=True, tls_context=client_tls, timeout=5
        )
        await smtp.connect()
        assert isinstance(smtp.transport, asyncio.Transport)
        assert smtp.transport.get_extra_info("sslcontext") is not None
        assert smtp.transport.get_protocol() is smtp.protocol
        smtp.close()

    with SmtpSink(tls_context=server_tls, require_starttls=True) as sink:
        asyncio.run(run(sink))


def test_a_taken_over_connection_has_no_reply_left_inside_aiosmtplib(sink: SmtpSink) -> None:
    async def run() -> list[object]:
        session = await SmtpSession.open(plain_smtp(sink), timeout=5)
        try:
            return list(await session.commands([b"NOOP\r\n", b"NOOP\r\n"]))
        finally:
            session.close()

    replies = asyncio.run(run())
    assert [reply.code for reply in replies if isinstance(reply, SMTPResponse)] == [250, 250]


def test_closing_aiosmtplib_closes_the_transport_a_session_took_over(sink: SmtpSink) -> None:
    async def run() -> None:
        smtp = plain_smtp(sink)
        session = await SmtpSession.open(smtp, timeout=5)
        transport = smtp.transport
        assert transport is not None
        smtp.close()
        assert transport.is_closing() and not session.is_open
        await asyncio.wait_for(smtp.connect(), 5)  # and its connect lock was released
        smtp.close()

    asyncio.run(run())


def test_aiosmtplib_quotes_addresses_as_smtp_paths() -> None:
    assert quote_address("Papers <papers@digest.example>") == "<papers@digest.example>"
    assert quote_address("läser@exempel.se") == "<läser@exempel.se>"
    assert quote_address('"A. Reader" <a.reader@example.org>') == "<a.reader@example.org>"


def test_psycopg_prepares_a_statement_once_and_adapts_lists_to_arrays(postgres_url: str) -> None:
    import psycopg

    query = "SELECT count(*), count(x) FROM unnest(%(ids)s::integer[]) AS x"

    async def run() -> tuple[list[tuple[int, int]], int]:
        conninfo = postgres_url.replace("+psycopg", "")
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
            cursor = connection.cursor()
            counts = []
            for ids in ([1, None], [2, 3], [4], []):  # NULLs and empty lists adapt too
                await cursor.execute(query, {"ids": ids}, prepare=True)
                row = await cursor.fetchone()
                assert row is not None
                counts.append((int(row[0]), int(row[1])))
            await cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            prepared = await cursor.fetchone()
            assert prepared is not None
            return counts, int(prepared[0])

    counts, prepared = asyncio.run(run())
    assert counts == [(2, 1), (2, 2), (1, 1), (0, 0)]
    assert 1 <= prepared <= 2  # one per shape of the lists (an empty one has no element type)
