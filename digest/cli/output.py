"""How the CLI prints: the --json shapes (a contract) and the human summaries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from digest.models import Paper, Pick

if TYPE_CHECKING:
    from digest.deliver.outcomes import DeliveryReport
    from digest.ingest.report import IngestReport
    from digest.store.schema import Delivery


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def paper_json(paper: Paper) -> dict[str, Any]:
    return {
        "id": paper.arxiv_id or paper.doi or paper.key,
        "paper_id": paper.id,
        "key": paper.key,
        "title": paper.title,
        "url": paper.url,
        "pdf_url": paper.pdf_url,
        "code_url": paper.code_url,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "version": paper.version,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "published": paper.published.isoformat() if paper.published else None,
        "first_seen": paper.first_seen.isoformat() if paper.first_seen else None,
        "sources": list(paper.sources),
        "revision": paper.revision,
    }


def pick_json(pick: Pick) -> dict[str, Any]:
    paper = pick.paper
    return {
        "id": paper.arxiv_id or paper.doi or paper.key,
        "paper_id": paper.id,
        "title": paper.title,
        "url": paper.url,
        "score": round(pick.score, 6),
        "relevance": round(pick.relevance, 6),
        "trending": round(pick.trending, 6),
        "topic": pick.topic,
        "reasons": list(pick.reasons),
        "authors": list(paper.authors),
        "categories": list(paper.categories),
    }


def delivery_json(
    row: Delivery, email: str, flags: tuple[str | None, bool] = (None, False)
) -> dict[str, Any]:
    """One outbox row as `deliveries list --json` prints it; ``flags``: (bounce, complaint)."""
    bounce, complaint = flags
    return {
        "id": row.id,
        "email": email,
        "date": row.digest_date.isoformat(),
        "kind": row.kind,
        "state": row.state,
        "attempts": row.attempts,
        "last_code": row.last_code,
        "last_message": row.last_message,
        "message_id": row.message_id,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "bounce": bounce,  # hard | soft | None: the worst bounce reported for it
        "complaint": complaint,
    }


def print_ingest_reports(reports: Sequence[IngestReport]) -> None:
    for r in reports:
        line = (
            f"{r.source}: new {r.new}, updated {r.updated}, duplicates {r.duplicates}, "
            f"failed {r.failed}"
        )
        if r.error:
            line += f"  ERROR: {r.error}"
        elif r.note:
            line += f"  ({r.note})"
        typer.echo(line)


def print_delivery_report(report: DeliveryReport | None) -> None:
    if report is None:
        return
    if report.halted:
        typer.echo(report.halted)
    parts = [
        f"sent {report.sent}",
        f"deferred {report.deferred}",
        f"failed {report.failed}",
        f"ambiguous {report.ambiguous}",
    ]
    if report.skipped:
        parts.append(f"skipped {report.skipped}")
    typer.echo("delivery: " + ", ".join(parts))
    if report.recovered.get("pending"):
        typer.echo(f"recovered {report.recovered['pending']} deliveries a stopped run left unsent")
    if report.recovered.get("ambiguous"):
        typer.echo(
            f"{report.recovered['ambiguous']} deliveries may or may not have been sent "
            "by a stopped run: see `digest deliveries list --state ambiguous`"
        )
    if report.outbox is not None and report.sent:
        typer.echo(
            f"emails written to {report.outbox} (.eml files; open the .html copies in a browser)"
        )
