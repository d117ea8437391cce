"""Cached TL;DRs, one per paper: asked for once, shown in every digest that picks the paper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.store.paper_merge import CHUNK
from digest.store.schema import PaperTldr


def tldrs_for(session: Session, paper_ids: Sequence[int]) -> dict[int, str]:
    """paper id → its cached TL;DR, for those of ``paper_ids`` that have one."""
    ids = sorted(set(paper_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(PaperTldr.paper_id, PaperTldr.text).where(
            PaperTldr.paper_id.in_(ids[start : start + CHUNK])
        )
        found.update({paper_id: text for paper_id, text in session.execute(query)})
    return found


def save_tldr(session: Session, paper_id: int, text: str, *, model: str, now: dt.datetime) -> None:
    """Keep one paper's TL;DR (a second writer of the same paper keeps the first one)."""
    if session.get(PaperTldr, paper_id) is None:
        session.add(PaperTldr(paper_id=paper_id, model=model, text=text, created_at=now))
        session.flush()
