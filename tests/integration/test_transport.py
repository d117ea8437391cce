"""The wire layer against a real SMTP server on loopback (tests/smtp_sink.py) and a real folder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from digest.config import SmtpTarget
from digest.deliver.transport import OutboxDir, SendResult, SmtpPool, Transport
from digest.models import OutgoingMessage
from tests.smtp_sink import SmtpSink, self_signed_tls

SENDER = "digest@example.org"


@pytest.fixture(autouse=True, params=[False, True], ids=["one-by-one", "pipelined"])
def server_pipelining(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test twice: the sink offers PIPELINING (MAIL, RCPT, DATA in one write) or not."""
    monkeypatch.setattr(SmtpSink, "pipelining_by_default", request.param)
    return bool(request.param)


def message(number: int, recipient: str | None = None) -> OutgoingMessage:
    to = recipient or f"reader{number}@example.org"
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = to
    mail["Subject"] = f"Papers for you, part {number}"
    mail["Message-ID"] = f"<digest-{number}@example.org>"
    mail.set_content(f"Hello {number}\n.a line that starts with a dot\n")
    mail.add_alternative(f"<p>Hello <b>{number}</b></p>", subtype="html")
    return OutgoingMessage(SENDER, to, mail["Message-ID"], mail.as_bytes())


def send_all(
    sink: SmtpSink,
    messages: list[OutgoingMessage],
    *,
    on_data_start: Callable[[OutgoingMessage], None] | None = None,
    **options: object,
) -> tuple[list[SendResult], SmtpPool]:
    options = {"timeout": 2.0, "backoff": 0.05, "local_hostname": "client.test", **options}
    results: list[SendResult] = []

    async def run() -> SmtpPool:
        pool: Transport
        async with SmtpPool(SmtpTarget(sink.url), **options) as pool:  # type: ignore[arg-type]
            await pool.send_many(messages, on_data_start=on_data_start, on_result=results.append)
        return pool

    pool = asyncio.run(asyncio.wait_for(run(), timeout=20))
    return results, pool


def only(results: list[SendResult], recipient: str) -> SendResult:
    [result] = [r for r in results if r.recipient == recipient]
    return result


def test_pool_delivers_every_message_once_over_reused_connections() -> None:
    with SmtpSink() as sink:
        results, pool = send_all(sink, [message(n) for n in range(20)], size=2)

        assert [r.outcome for r in results] == ["sent"] * 20
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted(
            f"reader{n}@example.org" for n in range(20)
        )
        assert len({m.session for m in sink.messages}) <= 2
        assert pool.connections_opened <= 2


def test_connection_is_replaced_after_messages_per_connection() -> None:
    with SmtpSink() as sink:
        send_all(sink, [message(n) for n in range(12)], size=1, messages_per_connection=5)

        assert [m.session for m in sink.messages] == [1] * 5 + [2] * 5 + [3] * 2


def test_body_arrives_byte_for_byte_with_leading_dots_intact() -> None:
    bare_newlines = b"Subject: dots\n\n.one\n..two\nthree\n"
    with SmtpSink() as sink:
        send_all(sink, [OutgoingMessage(SENDER, "a@example.org", "<d@x>", bare_newlines)])

        assert sink.messages[0].data == bare_newlines.replace(b"\n", b"\r\n")


def test_450_at_rcpt_is_temporary_with_its_code() -> None:
    with SmtpSink() as sink:
        sink.reply(450, at="rcpt", recipient="busy@example.org")
        results, _ = send_all(sink, [message(1, "busy@example.org")])

        assert results[0].outcome == "temporary"
        assert results[0].code == 450
        assert not results[0].data_started


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data", "message"])
def test_550_is_permanent_at_every_stage(stage: str) -> None:
    with SmtpSink() as sink:
        sink.reply(550, at=stage, nth=1)  # type: ignore[arg-type]
        results, _ = send_all(sink, [message(1)])

        assert (results[0].outcome, results[0].code) == ("permanent", 550)
        assert results[0].data_started == (stage == "message")
        assert sink.messages == []


def test_refused_message_leaves_the_connection_usable() -> None:
    with SmtpSink() as sink:
        sink.reply(550, at="rcpt", recipient="gone@example.org")
        results, _ = send_all(sink, [message(1, "gone@example.org"), message(2)], size=1)

        assert [r.outcome for r in results] == ["permanent", "sent"]
        assert sink.sessions == 1


def test_connection_dropped_during_data_is_ambiguous() -> None:
    started: list[str] = []
    with SmtpSink() as sink:
        sink.drop_during_data(after_bytes=40, recipient="lost@example.org")
        results, _ = send_all(
            sink,
            [message(1, "lost@example.org"), message(2)],
            size=1,
            on_data_start=lambda m: started.append(m.recipient),
        )

        lost = only(results, "lost@example.org")
        assert (lost.outcome, lost.code, lost.data_started) == ("ambiguous", None, True)
        assert only(results, "reader2@example.org").outcome == "sent"
        assert started == ["lost@example.org", "reader2@example.org"]
        assert len(sink.partial[0]) >= 40


def test_slow_server_before_data_is_temporary_and_data_never_starts() -> None:
    started: list[str] = []
    with SmtpSink() as sink:
        sink.delay(1.0, at="data", times=1)
        results, _ = send_all(
            sink, [message(1)], timeout=0.2, on_data_start=lambda m: started.append(m.recipient)
        )

        assert results[0].outcome == "temporary"
        assert not results[0].data_started
        assert started == []


def test_slow_final_reply_is_ambiguous() -> None:
    with SmtpSink() as sink:
        sink.delay(1.0, at="message", times=1)
        results, _ = send_all(sink, [message(1)], timeout=0.2)

        assert (results[0].outcome, results[0].data_started) == ("ambiguous", True)


@pytest.mark.parametrize("code", [421, 451, 452])
def test_busy_reply_pauses_every_connection(code: int) -> None:
    backoff = 0.4
    refused_at: list[float] = []

    def note(result: SendResult) -> None:
        if result.code == code:
            refused_at.append(time.monotonic())

    with SmtpSink() as sink:
        sink.reply(code, at="rcpt", nth=1)
        messages = [message(n) for n in range(6)]

        async def run() -> None:
            async with SmtpPool(SmtpTarget(sink.url), size=2, timeout=2, backoff=backoff) as pool:
                await pool.send_many(messages, on_result=note)

        asyncio.run(asyncio.wait_for(run(), timeout=10))

        assert len(refused_at) == 1
        during_pause = [m for m in sink.messages if m.at < refused_at[0] + backoff - 0.05]
        assert len(during_pause) <= 1  # only a transaction already under way on the other one
        assert len(sink.messages) == 5


def test_unreachable_server_is_temporary_and_the_pool_gives_up_quickly() -> None:
    with SmtpSink() as sink:
        url = sink.url
    results: list[SendResult] = []

    async def run() -> None:
        async with SmtpPool(SmtpTarget(url), size=1, timeout=1, backoff=0.01, give_up_after=2) as p:
            await p.send_many([message(n) for n in range(6)], on_result=results.append)

    started = time.monotonic()
    asyncio.run(asyncio.wait_for(run(), timeout=10))

    assert [r.outcome for r in results] == ["temporary"] * 6
    assert sum(r.detail.startswith("not attempted") for r in results) == 4
    assert time.monotonic() - started < 2


def test_max_per_second_spaces_out_transactions() -> None:
    with SmtpSink() as sink:
        started = time.monotonic()
        send_all(sink, [message(n) for n in range(6)], size=3, max_per_second=20)

        assert time.monotonic() - started >= 0.24
        arrivals = [m.at for m in sink.messages]
        assert arrivals[-1] - arrivals[0] >= 0.2


def test_failing_on_data_start_stops_sending_and_nothing_is_delivered() -> None:
    def refuse(_: OutgoingMessage) -> None:
        raise RuntimeError("database is gone")

    with SmtpSink() as sink:
        with pytest.raises(RuntimeError, match="database is gone"):
            send_all(sink, [message(n) for n in range(3)], size=1, on_data_start=refuse)
        time.sleep(0.1)

        assert sink.messages == []


def test_send_many_accepts_an_async_iterator() -> None:
    async def claimed() -> AsyncIterator[OutgoingMessage]:
        for n in range(3):
            await asyncio.sleep(0)
            yield message(n)

    with SmtpSink() as sink:
        results: list[SendResult] = []

        async def run() -> None:
            async with SmtpPool(SmtpTarget(sink.url), size=2, timeout=2) as pool:
                await pool.send_many(claimed(), on_result=results.append)

        asyncio.run(run())

        assert [r.outcome for r in results] == ["sent"] * 3


def test_non_ascii_address_goes_out_with_smtputf8() -> None:
    with SmtpSink() as sink:
        results, _ = send_all(sink, [message(1, "läser@exempel.se")])

        assert results[0].outcome == "sent"
        assert sink.messages[0].rcpt_tos == ("läser@exempel.se",)


def test_starttls_and_login(tmp_path: Path) -> None:
    try:
        server_tls, client_tls = self_signed_tls(tmp_path)
    except FileNotFoundError:
        pytest.skip("openssl command not installed")
    with SmtpSink(tls_context=server_tls, require_starttls=True, credentials=("u", "p w")) as sink:
        target = SmtpTarget(f"smtp://u:p%20w@{sink.host}:{sink.port}?starttls=1")

        async def run() -> SendResult:
            async with SmtpPool(target, timeout=5, tls_context=client_tls) as pool:
                return await pool.send(message(1))

        result = asyncio.run(run())

        assert result.outcome == "sent"
        assert (sink.messages[0].tls, sink.messages[0].login) == (True, "u")


def test_wrong_password_is_temporary_not_permanent(tmp_path: Path) -> None:
    try:
        server_tls, client_tls = self_signed_tls(tmp_path)
    except FileNotFoundError:
        pytest.skip("openssl command not installed")
    with SmtpSink(tls_context=server_tls, credentials=("u", "right")) as sink:
        target = SmtpTarget(f"smtp://u:wrong@{sink.host}:{sink.port}?starttls=1")

        async def run() -> SendResult:
            async with SmtpPool(target, timeout=5, tls_context=client_tls, backoff=0) as pool:
                return await pool.send(message(1))

        result = asyncio.run(run())

        assert (result.outcome, result.code) == ("temporary", 535)


def test_outbox_writes_eml_and_html_once_per_message(tmp_path: Path) -> None:
    outbox: Transport = OutboxDir(tmp_path / "out")
    first, second = message(1), message(2)

    async def run() -> list[SendResult]:
        results: list[SendResult] = []
        async with outbox:
            await outbox.send_many([first, second, first], on_result=results.append)
        return results

    results = asyncio.run(run())

    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 4  # .eml and .html for each message; no duplicates, no temp files
    [eml] = [p for p in (tmp_path / "out").glob("reader1*.eml")]
    assert eml.read_bytes() == first.data
    assert eml.with_suffix(".html").read_text() == "<p>Hello <b>1</b></p>\n"
    assert [r.outcome for r in results] == ["sent"] * 3
    assert all(r.data_started for r in results)


def test_a_pipelined_server_that_takes_data_after_refusing_rcpt_gets_an_empty_body() -> None:
    """RFC 2920: DATA may be answered 354 although RCPT was refused in the same group; the
    client then ends that empty transaction with a lone dot, and the connection goes on."""
    heard: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 strict.test ESMTP\r\n")
        refusals, recipients = 1, 0
        while line := await reader.readline():
            heard.append(line)
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-strict.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT" and refusals:
                refusals -= 1
                writer.write(b"550 5.1.1 No such user\r\n")
            elif verb == b"RCPT":
                recipients += 1
                writer.write(b"250 OK\r\n")
            elif verb == b"DATA" and not recipients:
                writer.write(b"354 Go ahead\r\n")  # what a strict server should not do
                await writer.drain()
                while (body_line := await reader.readline()) not in (b".\r\n", b""):
                    heard.append(body_line)  # a body line where only the dot should be
                heard.append(body_line)
                writer.write(b"554 5.5.1 No valid recipients\r\n")
            elif verb == b"DATA":
                writer.write(b"354 Go ahead\r\n")
                await writer.drain()
                heard.append(await reader.readuntil(b"\r\n.\r\n"))
                writer.write(b"250 Queued\r\n")
                recipients = 0
            elif verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                break
            else:  # MAIL, RSET
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()

    async def run() -> list[SendResult]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        results: list[SendResult] = []
        async with server, SmtpPool(SmtpTarget(f"smtp://127.0.0.1:{port}"), size=1) as pool:
            await pool.send_many(
                [message(1, "gone@example.org"), message(2)], on_result=results.append
            )
        return results

    results = asyncio.run(asyncio.wait_for(run(), timeout=10))

    assert [(r.outcome, r.code) for r in results] == [("permanent", 550), ("sent", 250)]
    empty = heard.index(b"DATA\r\n") + 1
    assert heard[empty] == b".\r\n"  # the refused transaction's body: the lone dot, nothing else
    assert heard[empty + 1 : empty + 4] == [
        b"RSET\r\n",
        b"MAIL FROM:<digest@example.org>\r\n",
        b"RCPT TO:<reader2@example.org>\r\n",
    ]
    assert [b for b in heard if b.endswith(b"\r\n.\r\n") and b"part 2" in b]


def test_a_control_character_in_an_address_is_refused_before_anything_is_sent() -> None:
    with SmtpSink() as sink:
        hostile = message(1, "Bob <bob@example.org\x00>")
        results, _ = send_all(sink, [hostile, message(2)], size=1)

        refused = only(results, hostile.recipient)
        assert (refused.outcome, refused.code, refused.data_started) == ("permanent", None, False)
        assert refused.detail.startswith("RCPT TO: control character")
        assert [m.rcpt_tos for m in sink.messages] == [("reader2@example.org",)]
