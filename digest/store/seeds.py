"""Seed papers by arXiv id or DOI, looked up among every stored paper (not only today's).

A reader's seeds are usually older than the digest window; the ranker needs their text to find
papers like them, so the pipeline fetches them here and passes them to ``rank``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from digest.models import Paper
from digest.rank.feedback import NEGATIVE_PREFIX
from digest.rank.index import normalise_identifier
from digest.store.papers import to_papers
from digest.store.schema import PaperRow


def seed_papers(session: Session, seeds: Iterable[str]) -> list[Paper]:
    """The stored papers named by ``seeds`` (positive or "-" negative); unknown ones are skipped."""
    wanted = {normalise_identifier(seed.removeprefix(NEGATIVE_PREFIX)) for seed in seeds}
    wanted.discard("")
    if not wanted:
        return []
    rows = session.scalars(
        select(PaperRow)
        .where(or_(PaperRow.arxiv_id.in_(wanted), func.lower(PaperRow.doi).in_(wanted)))
        .order_by(PaperRow.id)
    )
    return to_papers(session, rows)
