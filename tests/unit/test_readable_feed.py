"""The archive page and its Atom feed show a paper's LaTeX as text; the database keeps it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape

from sqlalchemy import select, update
from starlette.testclient import TestClient

from digest.service import Service
from digest.store.schema import PaperRow
from tests.unit.test_web_archive import ATOM, archive_url, send_digest
from tests.unit.web_support import BASE, client, confirmed, service

__all__ = ["client", "service"]

SOURCE = r"Bounds in $\ln\ln T$ time $\textit{with emergent creative capabilities}$"
SHOWN = "Bounds in ln ln T time with emergent creative capabilities"


def test_the_archive_and_its_feed_show_latex_as_text(service: Service, client: TestClient) -> None:
    confirmed(service, client)
    day_url = re.search(rf"{re.escape(BASE)}/archive/\S+", send_digest(service))
    assert day_url, "the digest links no archive copy"
    with service.db.session() as session:
        session.execute(update(PaperRow).values(title=SOURCE))
    page = " ".join(unescape(client.get(day_url[0]).text).split())
    root = ET.fromstring(client.get(archive_url(service) + "/feed.atom").content)
    titles = {e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")}
    assert titles == {SHOWN}
    assert SHOWN in page and "\\ln" not in page and "\\textit" not in page
    with service.db.session() as session:
        assert set(session.scalars(select(PaperRow.title))) == {SOURCE}
