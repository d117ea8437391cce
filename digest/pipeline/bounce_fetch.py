"""`digest bounces fetch` and the scheduler's job: the bounce mailbox into the bounce recording.

Each report goes through :func:`digest.deliver.bounces.ingest_raw` (the path of `digest
bounces ingest`), in a transaction of its own, and is moved to the done folder only once that
committed; the same report fetched again (after a crash before the move) counts once.
"""

from __future__ import annotations

import datetime as dt
import logging

from digest.deliver.bounce_mailbox import FetchReport, Mailbox, fetch_reports
from digest.deliver.bounces import IngestResult, ingest_raw
from digest.errors import ConfigError
from digest.service import Service

log = logging.getLogger(__name__)


def fetch_bounce_mailbox(service: Service, *, now: dt.datetime) -> FetchReport[IngestResult]:
    mailbox = Mailbox.from_settings(service.settings)
    if mailbox is None:
        raise ConfigError(
            "no bounce mailbox: set DIGEST_BOUNCE_IMAP_HOST, DIGEST_BOUNCE_IMAP_USER"
            " and DIGEST_BOUNCE_IMAP_PASSWORD"
        )

    def record(raw: bytes) -> IngestResult:
        return ingest_raw(
            service.db, raw, verp=service.verp, policy=service.bounce_policy, now=now, source="imap"
        )

    report = fetch_reports(mailbox, record, limit=service.settings.bounce_imap_batch)
    new = sum(1 for result in report.results if not result.duplicate)
    log.info(
        "bounce mailbox: %d reports recorded (%d new), %d left after failures, %d for next time",
        report.moved,
        new,
        len(report.failed),
        report.left,
    )
    return report
