"""`digest bounces`: reports that came back after sending (DSNs, complaints, auto-replies)."""

from __future__ import annotations

import mailbox
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from digest.cli.common import JsonOpt, open_service, parse_now
from digest.cli.output import echo_json
from digest.deliver.bounces import IngestResult, RecordedEvent, ingest_raw
from digest.errors import DigestError

bounces_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Reports that came back after sending: bounces, complaints, auto-replies.",
)


@bounces_app.command("ingest")
def bounces_ingest(
    files: Annotated[
        list[str], typer.Argument(help="Raw messages, one per file, or mbox files; - reads stdin.")
    ],
    as_json: JsonOpt = False,
    now: Annotated[str | None, typer.Option("--now", help="Record as of this ISO time.")] = None,
) -> None:
    """Classify and record each message; the same report twice counts once."""
    moment = parse_now(now)
    messages = list(read_messages(files))
    service = open_service()
    results = [
        (
            label,
            ingest_raw(
                service.db, raw, verp=service.verp, policy=service.bounce_policy, now=moment
            ),
        )
        for label, raw in messages
    ]
    if as_json:
        echo_json([result_json(label, result) for label, result in results])
        return
    for label, result in results:
        for line in result_lines(label, result):
            typer.echo(line)
    typer.echo(summary_line(results))


def read_messages(names: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) for each message: a file is one message, or an mbox of many."""
    for name in names:
        data = _read(name)
        label = "stdin" if name == "-" else name
        if not data.strip():
            raise DigestError(f"{label} is empty: no message to read")
        if data.startswith(b"From "):
            yield from _mbox_messages(label, data)
        else:
            yield label, data


def _read(name: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise DigestError(f"cannot read {name}: {exc.strerror or exc}") from None


def _mbox_messages(label: str, data: bytes) -> list[tuple[str, bytes]]:
    """The messages of an mbox (the stdlib's reader wants a file, so stdin goes to one)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.mbox"
        path.write_bytes(data)
        box = mailbox.mbox(path, create=False)
        try:
            return [(f"{label}#{n}", box.get_bytes(key)) for n, key in enumerate(box.keys(), 1)]
        finally:
            box.close()


def event_json(recorded: RecordedEvent) -> dict[str, Any]:
    event = recorded.event
    return {
        "kind": event.kind,
        "recipient": event.recipient,
        "status": event.status,
        "diagnostic": event.diagnostic,
        "detector": event.detector,
        "verp_id": event.verp_id,
        "outcome": recorded.outcome,
        "subscriber_id": recorded.subscriber_id,
        "delivery_id": recorded.delivery_id,
    }


def result_json(label: str, result: IngestResult) -> dict[str, Any]:
    return {
        "source": label,
        "message_id": result.message_id,
        "subject": result.subject,
        "report_key": result.report_key,
        "duplicate": result.duplicate,
        "events": [event_json(e) for e in result.events],
    }


def result_lines(label: str, result: IngestResult) -> list[str]:
    if result.duplicate:
        return [f"{label}: already ingested, nothing changed"]
    lines = []
    for recorded in result.events:
        event = recorded.event
        words = [event.kind, event.recipient or "(no recipient)", event.status or ""]
        where = f" (delivery {recorded.delivery_id})" if recorded.delivery_id else ""
        lines.append(f"{label}: {' '.join(w for w in words if w)} -> {recorded.outcome}{where}")
    return lines


def summary_line(results: Sequence[tuple[str, IngestResult]]) -> str:
    kinds = Counter(e.event.kind for _, r in results for e in r.events)
    duplicates = sum(r.duplicate for _, r in results)
    counts = ", ".join(
        f"{kind} {kinds[kind]}" for kind in ("hard", "soft", "complaint", "auto_reply", "unknown")
    )
    return f"{len(results)} messages: {counts}; already ingested {duplicates}"
