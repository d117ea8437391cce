"""A new version of a paper a reader already got: an "Updated" line once, never a new pick, and
PDF links that open the newest version. Real arXiv listings, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html as html_lib
from email.message import EmailMessage
from pathlib import Path

from starlette.testclient import TestClient

from digest import pipeline
from digest.models import Topic
from digest.pipeline.ingest_job import ingest_document
from digest.service import Service
from digest.store import papers, subscribers
from digest.web import create_app
from tests.conftest import FIXTURES

CL = FIXTURES / "arxiv-rss" / "cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"
LG = FIXTURES / "arxiv-rss" / "cs.LG-2026-04-27_trimmed-3-items_jmamath-distill.xml"
MONDAY = dt.date(2026, 4, 27)
THURSDAY = dt.date(2026, 4, 30)
LEXICAL = "2604.22027"


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)


def replaced_listing(abstract_prefix: str = "We revise the analysis. ") -> bytes:
    """The cs.CL listing of Thursday, in which 2604.22027 comes back as v2 (announce type
    replace), as arXiv lists a replacement: same id, the new version's abstract."""
    text = CL.read_text(encoding="utf-8")
    cut = text.index("<title>Shared Lexical")
    end = text.index("</item>", cut)
    item = text[cut:end].replace("2604.22027v1", "2604.22027v2")
    item = item.replace("<arxiv:announce_type>new", "<arxiv:announce_type>replace")
    item = item.replace("Announce Type: new \nAbstract: ", "Announce Type: replace \nAbstract: ")
    item = item.replace("Abstract: One", f"Abstract: {abstract_prefix}One", 1)
    item = item.replace("Mon, 27 Apr 2026", "Thu, 30 Apr 2026")
    head = text[: text.index("<item>")]
    return (head + "<item>\n      " + item + "</item></channel></rss>").encode()


def ingest(service: Service, name: str, data: bytes, day: dt.date) -> None:
    report = ingest_document(service, name, data, url=None, now=at(day))
    assert report.error is None, report


def subscribe(service: Service, quiet_days: str = "skip") -> None:
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session,
            "ada@example.org",
            now=at(MONDAY),
            state="confirmed",
            profile_changes={
                "topics": (
                    Topic("lexical task heads in language models"),
                    Topic("anomaly detection"),
                ),
                "quiet_days": quiet_days,
            },
        )


def messages(service: Service) -> list[EmailMessage]:
    paths = sorted(
        Path(service.settings.outbox_dir).rglob("*.eml"), key=lambda p: p.stat().st_mtime
    )
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in paths
    ]


def parts(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return html, text


def archive_page(service: Service, day: dt.date) -> str:
    with service.db.session() as session:
        subscriber = subscribers.to_subscriber(subscribers.get_row(session, "ada@example.org"))
    url = service.links.for_subscriber(subscriber, day).archive
    base = service.settings.base_url
    client = TestClient(create_app(service, clock=lambda: at(day)), base_url=base)
    response = client.get(url.removeprefix(base))
    assert response.status_code == 200, response.text
    return html_lib.unescape(response.text)


def test_a_revised_paper_is_noted_once_and_never_picked_again(service: Service) -> None:
    subscribe(service)
    ingest(service, "cs.CL", CL.read_bytes(), MONDAY)
    pipeline.run_daily(service, MONDAY, now=at(MONDAY), ingest=False)
    (monday,) = messages(service)
    assert "Shared Lexical Task Representations" in parts(monday)[0]
    assert "Updated" not in parts(monday)[1]

    ingest(service, "cs.CL", replaced_listing(), THURSDAY)
    ingest(service, "cs.LG", LG.read_bytes(), THURSDAY)
    preview, _ = pipeline.preview(service, "ada@example.org", THURSDAY, now=at(THURSDAY))
    assert [u.paper.arxiv_id for u in preview.updates] == [LEXICAL]
    pipeline.run_daily(service, THURSDAY, now=at(THURSDAY), ingest=False)
    monday_again, thursday = messages(service)
    html, text = parts(thursday)
    assert "anomaly" in html.lower()  # the day's new picks are there
    updated = text[text.index("== Updated ==") :]
    assert "v2: Shared Lexical Task Representations" in updated
    assert "abstract revised; you got v1" in updated
    assert "Shared Lexical" not in text[: text.index("== Updated ==")]  # not a pick again
    assert f'href="https://arxiv.org/pdf/{LEXICAL}"' in html  # the newest, unversioned

    archive = archive_page(service, THURSDAY)  # "View in browser" shows the same block
    assert "v2:" in archive and "abstract revised; you got v1" in archive

    friday = THURSDAY + dt.timedelta(days=1)
    ingest(service, "cs.CL", replaced_listing(), friday)  # the same v2 seen again
    again, _ = pipeline.preview(service, "ada@example.org", friday, now=at(friday))
    assert again.updates == ()


def test_a_new_version_with_the_same_abstract_is_no_news(service: Service) -> None:
    """A v2 that only replaces the PDF (title and abstract as before, up to spacing) is not
    announced, but its PDF link still opens the newest version."""
    subscribe(service)
    ingest(service, "cs.CL", CL.read_bytes(), MONDAY)
    pipeline.run_daily(service, MONDAY, now=at(MONDAY), ingest=False)
    ingest(service, "cs.CL", replaced_listing(abstract_prefix=" "), THURSDAY)
    digest, _ = pipeline.preview(service, "ada@example.org", THURSDAY, now=at(THURSDAY))
    assert digest.updates == ()
    with service.db.session() as session:
        (paper,) = [p for p in papers.list_papers(session) if p.arxiv_id == LEXICAL]
    assert paper.version == 2 and paper.revision is None
    assert paper.pdf_url == f"https://arxiv.org/pdf/{LEXICAL}"


def test_a_withdrawn_paper_says_so(service: Service) -> None:
    subscribe(service)
    ingest(service, "cs.CL", CL.read_bytes(), MONDAY)
    pipeline.run_daily(service, MONDAY, now=at(MONDAY), ingest=False)
    withdrawn = replaced_listing().replace(
        b"Abstract: We revise",
        b"Abstract: This paper has been withdrawn by the authors due to an error. We revise",
    )
    ingest(service, "cs.CL", withdrawn, THURSDAY)
    digest, rendered = pipeline.preview(service, "ada@example.org", THURSDAY, now=at(THURSDAY))
    assert [u.paper.revision for u in digest.updates] == ["withdrawn"]


def test_a_reader_with_nothing_new_hears_of_the_update_in_the_note(service: Service) -> None:
    """A reader who asked for a note on quiet days gets it with the "Updated" block, once."""
    subscribe(service, quiet_days="send")
    ingest(service, "cs.CL", CL.read_bytes(), MONDAY)
    pipeline.run_daily(service, MONDAY, now=at(MONDAY), ingest=False)
    ingest(service, "cs.CL", replaced_listing(), THURSDAY)
    pipeline.run_daily(service, THURSDAY, now=at(THURSDAY), ingest=False)
    friday = THURSDAY + dt.timedelta(days=1)
    pipeline.run_daily(service, friday, now=at(friday), ingest=False)
    _, thursday, friday_note = messages(service)
    html, text = parts(thursday)
    assert thursday["Subject"].startswith("Nothing matched")
    assert "v2: Shared Lexical Task Representations" in text[text.index("== Updated ==") :]
    assert "abstract revised; you got v1" in html
    assert "Updated" not in parts(friday_note)[1]
