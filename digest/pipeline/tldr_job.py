"""TL;DRs for the papers a run picks, asked once per paper and cached (DIGEST_TLDR_URL).

Planning calls :meth:`TldrMaker.ensure` with each chunk's picks before it records them, so
the sending side, which reads papers from the database, finds the TL;DR in place. The first
failure turns the maker off for the rest of the run: a dead endpoint costs one deadline, and
every pick then shows its excerpt, as it does when no endpoint is configured.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from digest.ingest.tldr import TldrEndpoint, TldrError, ask_tldr
from digest.models import Paper
from digest.service import Service
from digest.store import tldrs

log = logging.getLogger(__name__)


class TldrMaker:
    """Asks the configured endpoint for the TL;DRs a run still lacks; off when none is set."""

    def __init__(self, service: Service) -> None:
        settings = service.settings
        self.service = service
        self.endpoint = (
            TldrEndpoint(
                settings.tldr_url,
                settings.tldr_model,
                settings.tldr_api_key,
                settings.tldr_timeout,
            )
            if settings.tldr_url
            else None
        )
        self.asked: set[int] = set()
        self.made = 0
        self.error: str | None = None

    def ensure(self, papers: Iterable[Paper], *, now: dt.datetime) -> None:
        """Ask for and store the TL;DR of each paper that has none yet (each once a run)."""
        if self.endpoint is None or self.error is not None:
            return
        wanted = {p.id: p for p in papers if p.tldr is None and p.id not in self.asked}
        if not wanted:
            return
        with self.service.db.session() as session:
            have = tldrs.tldrs_for(session, list(wanted))
        for paper_id, paper in wanted.items():
            self.asked.add(paper_id)
            if paper_id in have:
                continue
            try:
                text = ask_tldr(self.endpoint, paper.title, paper.abstract)
            except TldrError as exc:
                self.error = str(exc)
                log.warning("TL;DRs off for this run: %s", exc)
                return
            with self.service.db.session() as session:
                tldrs.save_tldr(session, paper_id, text, model=self.endpoint.model, now=now)
            self.made += 1
