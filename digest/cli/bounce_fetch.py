"""`digest bounces fetch`: the bounce mailbox's reports, recorded like `digest bounces ingest`."""

from __future__ import annotations

import sys

import typer

from digest.cli.bounces import result_json, result_lines, summary_line
from digest.cli.common import JsonOpt, open_service
from digest.cli.output import echo_json
from digest.pipeline.bounce_fetch import fetch_bounce_mailbox
from digest.service import utcnow


def bounces_fetch(as_json: JsonOpt = False) -> None:
    """Fetch the reports in DIGEST_BOUNCE_IMAP_FOLDER, record each, move it to the done folder.

    At most DIGEST_BOUNCE_IMAP_BATCH per run; a report that cannot be recorded stays in the
    folder (and the exit code is 1).
    """
    service = open_service()
    report = fetch_bounce_mailbox(service, now=utcnow())
    pairs = zip(report.uids, report.results, strict=True)
    labelled = [(f"imap uid {uid}", result) for uid, result in pairs]
    if as_json:
        echo_json(
            {
                "messages": [result_json(label, result) for label, result in labelled],
                "failed": report.failed,
                "left": report.left,
            }
        )
    else:
        for label, result in labelled:
            for line in result_lines(label, result):
                typer.echo(line)
        typer.echo(summary_line(labelled) + f"; left for the next fetch {report.left}")
    for failure in report.failed:
        typer.echo(f"error: {failure} (left in the folder)", err=True)
    if report.failed:
        sys.exit(1)
