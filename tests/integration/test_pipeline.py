"""The daily job end to end on a real database: ingest samples, rank, record, deliver once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from digest import pipeline
from digest.errors import InvalidEmail, SchemaOutOfDate
from digest.models import Topic
from digest.resources import samples_dir
from digest.service import Service
from digest.store import deliveries, editions, papers, subscribers
from digest.store.db import Database
from tests.conftest import FIXTURES, make_settings

NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 30)


def ingest_samples(service: Service) -> list[pipeline.IngestReport]:
    return pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=NOW)


def add_subscriber(
    service: Service, email_address: str, *topics: str, exclude: tuple[str, ...] = ()
) -> None:
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session,
            email_address,
            now=NOW,
            state="confirmed",
            profile_changes={"topics": tuple(Topic(t) for t in topics), "exclude": exclude},
        )


def outbox_messages(service: Service) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(Path(service.settings.outbox_dir).rglob("*.eml"))
    ]


def test_a_paper_in_two_feeds_is_stored_once(service: Service) -> None:
    ingest_samples(service)
    with service.db.session() as session:
        stored = papers.list_papers(session)
    arxiv_ids = [p.arxiv_id for p in stored if p.arxiv_id]
    assert len(arxiv_ids) == len(set(arxiv_ids))
    # 2604.26264 (ADMM over-relaxation) is in the arXiv API sample and in Takara TLDR.
    admm = [p for p in stored if "Over-Relaxation Policies for ADMM" in p.title]
    assert len(admm) == 1 and len(admm[0].sources) >= 2


def test_ingesting_the_same_file_again_only_finds_duplicates(service: Service) -> None:
    path = samples_dir() / "arxiv-rss-cs.CL-2026-04-27.xml"
    (first,) = pipeline.ingest_files(service, [path], now=NOW)
    (second,) = pipeline.ingest_files(service, [path], now=NOW)
    assert (first.new, first.duplicates) == (3, 0)
    assert (second.new, second.updated, second.duplicates) == (0, 0, 3)


def test_a_new_version_updates_the_paper_and_keeps_first_seen(
    service: Service, tmp_path: Path
) -> None:
    original = samples_dir() / "arxiv-rss-cs.CL-2026-04-27.xml"
    pipeline.ingest_files(service, [original], now=NOW)
    revised = tmp_path / "cs.CL-replaced.xml"
    text = original.read_text().replace("2604.22027v1", "2604.22027v2")
    revised.write_text(
        text.replace(
            "Shared Lexical Task Representations", "Shared Lexical Task Representations (revised)"
        )
    )
    later = NOW + dt.timedelta(days=3)
    (report,) = pipeline.ingest_files(service, [revised], now=later)
    assert report.updated == 1 and report.new == 0
    with service.db.session() as session:
        (paper,) = [p for p in papers.list_papers(session) if p.arxiv_id == "2604.22027"]
    assert paper.version == 2
    assert "(revised)" in paper.title
    assert paper.first_seen == NOW


def test_a_broken_feed_is_reported_and_the_others_go_on(service: Service, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"this is not a feed at all \x00\xff")
    good = samples_dir() / "arxiv-rss-cs.AI-2026-04-27.xml"
    reports = pipeline.ingest_files(service, [broken, tmp_path / "missing.xml", good], now=NOW)
    assert reports[0].error and reports[1].error
    assert reports[2].new == 3 and reports[2].error is None


def test_run_twice_sends_each_subscriber_one_digest(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents", "reinforcement learning")
    add_subscriber(service, "grace@example.org", "diffusion models", "video generation")
    first = pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    second = pipeline.run_daily(service, DAY, now=NOW + dt.timedelta(hours=1), ingest=False)
    assert first.plan.planned == 2 and first.delivery and first.delivery.sent == 2
    assert second.plan.planned == 0 and second.delivery and second.delivery.sent == 0
    messages = outbox_messages(service)
    assert sorted(str(m["To"]) for m in messages) == ["ada@example.org", "grace@example.org"]


def test_next_day_never_repeats_a_paper(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents", "reinforcement learning")
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    next_day = pipeline.run_daily(
        service, DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(days=1), ingest=False
    )
    with service.db.session() as session:
        rows = deliveries.list_deliveries(session)
        sid = subscribers.get_row(session, "ada@example.org").id
        items = editions.items_for(session, [row.id for row, _ in rows])
    first_ids = {i.paper_id for i in items[rows[0][0].id]}
    if next_day.plan.planned:
        assert not first_ids & {i.paper_id for i in items[rows[1][0].id]}
    assert sid


def test_preview_is_the_ranking_the_email_uses(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents", "reinforcement learning")
    digest, rendered = pipeline.preview(service, "ada@example.org", DAY, now=NOW)
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    (message,) = outbox_messages(service)
    assert digest.picks
    assert message["Subject"] == rendered.subject
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    positions = [html.find(pick.paper.title.split(":")[0][:40]) for pick in digest.picks[:3]]
    assert all(p >= 0 for p in positions)


def test_every_email_has_working_unsubscribe_and_manage_links(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents")
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    (message,) = outbox_messages(service)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<http://digest.test/unsubscribe/" in message["List-Unsubscribe"]
    assert "mailto:" in message["List-Unsubscribe"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "http://digest.test/manage/" in text
    token = message["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
    claims = service.signer.verify("unsubscribe", token)
    with service.db.session() as session:
        assert claims.subscriber_id == subscribers.get_row(session, "ada@example.org").id


def test_exclusion_keeps_papers_mainly_about_it_out(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "agents", exclude=("medical image",))
    digest, _ = pipeline.preview(service, "ada@example.org", DAY, now=NOW, limit=50)
    assert digest.picks
    assert not any("Medical Image" in pick.paper.title for pick in digest.picks)


def test_invalid_email_is_refused(service: Service) -> None:
    with service.db.session() as session, pytest.raises(InvalidEmail):
        subscribers.upsert_subscriber(session, "not an address", now=NOW)


def test_adding_an_existing_address_updates_it(service: Service) -> None:
    add_subscriber(service, "Ada@Example.org", "agents")
    add_subscriber(service, "ada@example.org", "diffusion")
    with service.db.session() as session:
        rows = subscribers.all_rows(session)
    assert len(rows) == 1
    assert [t["text"] for t in rows[0].profile["topics"]] == ["diffusion"]


def test_unsubscribed_subscriber_is_not_mailed(service: Service) -> None:
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents")
    with service.db.session() as session:
        row = subscribers.get_row(session, "ada@example.org")
        subscribers.set_state(session, row, "unsubscribed", now=NOW)
    report = pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    assert report.plan.planned == 0 and outbox_messages(service) == []


def test_a_stale_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(SchemaOutOfDate, match="digest db upgrade"):
        Service.open(make_settings(url, tmp_path))
    Database(url).upgrade()
    Service.open(make_settings(url, tmp_path)).close()


def test_journal_feed_papers_are_keyed_by_doi(service: Service) -> None:
    (report,) = pipeline.ingest_files(
        service, [FIXTURES / "journals" / "nature-current-2024-07-18.rss"], now=NOW
    )
    assert report.new > 0
    with service.db.session() as session:
        stored = papers.list_papers(session)
    assert all(p.doi and p.doi.startswith("10.1038/") for p in stored)


def test_same_profile_same_digest_unless_the_history_differs(service: Service) -> None:
    """Planning ranks a profile once per chunk, but what each reader already got still counts."""
    ingest_samples(service)
    for address in ("ada@example.org", "bob@example.org"):
        add_subscriber(service, address, "LLM agents", "reinforcement learning")
    pipeline.run_daily(service, DAY, now=NOW, ingest=False)
    add_subscriber(service, "cyd@example.org", "LLM agents", "reinforcement learning")
    next_day = DAY + dt.timedelta(days=1)
    pipeline.run_daily(service, next_day, now=NOW + dt.timedelta(days=1), ingest=False)

    with service.db.session() as session:
        rows = {
            (email, row.digest_date): row.id for row, email in deliveries.list_deliveries(session)
        }
        items = editions.items_for(session, list(rows.values()))
    picked = {key: [i.paper_id for i in items[delivery_id]] for key, delivery_id in rows.items()}
    assert picked["ada@example.org", DAY] == picked["bob@example.org", DAY]
    assert picked["ada@example.org", next_day] == picked["bob@example.org", next_day]
    already = set(picked["ada@example.org", DAY])
    assert not already & set(picked["ada@example.org", next_day])
    assert already & set(picked["cyd@example.org", next_day])  # cyd never got them: no exclusion
