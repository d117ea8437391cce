"""Completing papers seen without authors or categories, from the arXiv API, after ingest.

Runs at the end of a fetching ingest (`digest ingest`, `digest run`, the scheduler), never for
local files alone, so the offline demo makes no request. Requests go through the ingest's
fetch (deadline, size cap, retries on 429/5xx) and its host pacer (3 s between requests to
export.arxiv.org). The first failed request ends the step for this run, so a dead or hanging
API costs one deadline, and the papers it was asked for count one failed attempt each.
"""

from __future__ import annotations

import datetime as dt

from digest.errors import DigestError
from digest.ingest.complete import ID_BATCH, id_list_batches
from digest.ingest.fetch import HostPacer, fetch
from digest.ingest.parse import parse_feed
from digest.ingest.report import IngestReport
from digest.service import Service
from digest.store import completion

REPORT_NAME = "arXiv API (metadata)"
USER_AGENT = "digest/0.1 (+mailto:{contact})"


def complete_metadata(
    service: Service, *, now: dt.datetime, pacer: HostPacer, batch: int = ID_BATCH
) -> IngestReport:
    """Ask the arXiv API for papers missing authors or categories, ``batch`` ids a request
    (spaced by ``pacer``); fill what it answers."""
    settings = service.settings
    report = IngestReport(REPORT_NAME)
    with service.db.session() as session:
        wanted = completion.papers_to_complete(session, limit=settings.complete_metadata_per_run)
    by_arxiv_id = {arxiv_id: paper_id for paper_id, arxiv_id in wanted}
    for url, ids in id_list_batches(settings.arxiv_api_url, list(by_arxiv_id), batch):
        asked = {arxiv_id: by_arxiv_id[arxiv_id] for arxiv_id in ids}
        try:
            answer = fetch(
                url,
                timeout=settings.http_timeout,
                user_agent=USER_AGENT.format(contact=settings.user_agent_contact),
                pacer=pacer,
            )
            parsed = parse_feed(answer.body or b"", source_url=url, now=now)
        except DigestError as exc:
            with service.db.session() as session:
                completion.record_failure(session, list(asked.values()))
            report.failed += len(asked)
            report.error = f"stopped completing metadata: {exc}"
            return report
        with service.db.session() as session:
            report.updated += completion.record_answer(session, asked, parsed.items, now=now)
        report.pages += 1
    if report.pages:
        report.note = f"asked for {len(by_arxiv_id)} papers, completed {report.updated}"
    return report
