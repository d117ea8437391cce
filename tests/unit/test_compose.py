"""Composing a digest with shared renderings gives the same bytes as rendering it afresh."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.models import Digest, Subscriber
from digest.render.compose import DigestRenders, compose_digest
from digest.service import Service
from digest.store.db import Database
from tests.conftest import make_settings
from tests.unit.render_support import make_digest

NOW = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def sqlite_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    monkeypatch.setattr("digest.tokens.time.time", lambda: 1_790_000_000.0)  # one token stamp
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    Database(url).upgrade()
    service = Service.open(make_settings(url, tmp_path))
    yield service
    service.close()


def reader(digest: Digest, number: int) -> Digest:
    subscriber: Subscriber = dataclasses.replace(
        digest.subscriber, id=100 + number, email=f"reader{number}@example.org"
    )
    return dataclasses.replace(digest, subscriber=subscriber)


@pytest.mark.parametrize("nothing_matched", [False, True])
def test_shared_renderings_give_each_subscriber_the_bytes_of_a_fresh_render(
    sqlite_service: Service, nothing_matched: bool
) -> None:
    renders = DigestRenders(sqlite_service.composer)
    for number in range(3):  # the first renders, the others reuse it with their own tokens
        digest = reader(make_digest(), number)
        fresh, fresh_message = compose_digest(
            sqlite_service.composer,
            digest,
            message_id="<m@x>",
            now=NOW,
            nothing_matched=nothing_matched,
        )
        shared, shared_message = compose_digest(
            sqlite_service.composer,
            digest,
            message_id="<m@x>",
            now=NOW,
            nothing_matched=nothing_matched,
            renders=renders,
        )
        assert shared == fresh
        assert shared_message.data == fresh_message.data
        token = sqlite_service.links.tokens_for(digest.subscriber).manage
        assert token in shared.html and token in shared.text


def test_a_different_digest_is_rendered_anew(sqlite_service: Service) -> None:
    renders = DigestRenders(sqlite_service.composer, size=1)
    digest = make_digest()
    other = dataclasses.replace(digest, picks=digest.picks[:3], overflow=())
    for current in (digest, other, digest):  # size 1: each one pushes the other out
        shared, _ = renders.render(
            current, sqlite_service.links.tokens_for(current.subscriber), nothing_matched=False
        )
        fresh, _ = compose_digest(sqlite_service.composer, current, message_id="<m@x>", now=NOW)
        assert shared == fresh
    assert shared.html.count("More like this") == len(digest.picks)


HOSTILE_TITLES = (
    "Ünïcödé authors: Łukasz Żółć and 李小龙 on $\\mathcal{O}(n^2)$ \\emph{bounds} = tight",
    "A title that goes on " + "and on " * 200,  # one line past SMTP's 998 characters
    "<script>alert('x')</script> & \"quotes\" =?utf-8?b?PT0=?= trailing spaces   ",
    ". a line that starts with a dot, and =3D that looks encoded",
)


def test_shared_renderings_of_hostile_papers_give_the_bytes_of_a_fresh_render(
    sqlite_service: Service,
) -> None:
    """The first subscriber of a rendering gets its parts encoded whole, the next ones from
    its PartTemplates: both give exactly a fresh render's bytes, whatever the papers hold."""
    digest = make_digest()
    picks = tuple(
        dataclasses.replace(
            pick,
            paper=dataclasses.replace(
                pick.paper,
                title=HOSTILE_TITLES[i % len(HOSTILE_TITLES)],
                authors=("Zoë Ångström", "Nguyễn Văn An", "O'Brien, Seán"),
                abstract=pick.paper.abstract + " Über $\\alpha=\\beta$ " + "x" * 1200,
            ),
            reasons=("matches “naïve = 🤖”",),
        )
        for i, pick in enumerate(digest.picks)
    )
    renders = DigestRenders(sqlite_service.composer)
    for number in range(3):
        hostile = reader(dataclasses.replace(digest, picks=picks), number)
        _, fresh = compose_digest(sqlite_service.composer, hostile, message_id="<m@x>", now=NOW)
        _, shared = compose_digest(
            sqlite_service.composer, hostile, message_id="<m@x>", now=NOW, renders=renders
        )
        assert shared.data == fresh.data
    assert b"Content-Transfer-Encoding: quoted-printable" in shared.data
