"""The manage page's BibTeX upload and its way back after unsubscribing, through the app on a
real SQLite file."""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from digest.service import Service
from digest.store import subscribers
from tests.conftest import FIXTURES
from tests.integration.test_web_forms import error_beside
from tests.unit.web_support import client, confirmed, outbox, row_of, service, token_in

__all__ = ["client", "service"]
LIBRARY = FIXTURES / "library.bib"


def profile_of(service: Service, address: str = "ada@example.org") -> dict[str, object]:
    with service.db.session() as session:
        shown = subscribers.subscriber_json(subscribers.get_row(session, address))
    profile: dict[str, object] = shown["profile"]
    return profile


def upload(client: TestClient, manage: str, name: str, data: bytes) -> httpx.Response:
    token = token_in(client.get(manage).text)
    return client.post(
        f"{manage}/library",
        data={"csrf_token": token},
        files={"library": (name, data, "text/x-bibtex")},
        follow_redirects=False,
    )


def test_a_bibtex_upload_adds_its_papers_to_the_library_once(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    response = upload(client, manage, "library.bib", LIBRARY.read_bytes())
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.endswith("#your-library")
    assert profile_of(service)["seeds"] == [
        "2305.18290",
        "cs/9905014",
        "10.1103/physrevb.93.184503",
    ]
    page = client.get(location).text
    assert "Read 5 entries: 3 new papers in your library, 1 title" in page
    assert "3 papers you know" in page
    assert any("updated" in str(m["Subject"]).lower() for m in outbox(service))
    again = upload(client, manage, "library.bib", LIBRARY.read_bytes())
    assert "library=5.0.0" in again.headers["location"]
    assert len(profile_of(service)["seeds"]) == 3  # type: ignore[arg-type]


def test_a_file_that_is_not_bibtex_is_named_beside_the_upload(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    for name, data, said in (
        ("notes.txt", b"just some notes\n", "no bibtex entries found"),
        ("latin1.bib", "@article{a, title={Caf\xe9}}".encode("latin-1"), "is not utf-8 text"),
        ("cut.bib", b"@article{a, title={Half", "never ends"),
    ):
        response = upload(client, manage, name, data)
        assert response.status_code == 400, name
        assert said in error_beside(response.text, "library"), name
    response = client.post(
        f"{manage}/library", data={"csrf_token": token_in(client.get(manage).text)}
    )
    assert "choose a .bib file first" in error_beside(response.text, "library")
    assert profile_of(service).get("seeds") == []


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    response = upload(client, manage, "huge.bib", b"%" * (5 * 1024 * 1024))
    assert response.status_code == 413


def test_after_unsubscribing_the_manage_page_offers_a_way_back_not_a_preview(
    service: Service, client: TestClient
) -> None:
    manage = confirmed(service, client)
    with service.db.session() as session:
        row = subscribers.get_row(session, "ada@example.org")
        subscribers.set_state(session, row, "unsubscribed", now=row.created_at)
    page = client.get(manage).text
    assert "Preview of your next digest" not in page and "Subscribe again" in page
    sent_before = len(outbox(service))
    response = client.post(f"{manage}/resubscribe", data={"csrf_token": token_in(page)})
    assert response.status_code == 200 and "Check your inbox" in response.text
    assert row_of(service, "ada@example.org").state == "unsubscribed"  # until the owner confirms
    (confirm,) = outbox(service)[sent_before:]
    assert "confirm" in str(confirm["Subject"]).lower()
