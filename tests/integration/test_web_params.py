"""Every route's path parameters (and the query parameters pages read), fuzzed with hostile
values on SQLite and PostgreSQL: each answer is a page (404, 400, a redirect...), never a 500.

Each parameter is tried alone: the others hold good values (a valid signed link for the
route's purpose, a stored paper, a real date), so a bad value reaches as deep as it can.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from digest.service import Service
from digest.store import papers, subscribers
from digest.tokens import LIFETIMES
from digest.web import create_app
from digest.web.app import ROUTES
from digest.web.limits import POST_LIMITS, RateLimits
from tests.integration.test_pipeline import NOW, add_subscriber, ingest_samples

READER = "reader@example.org"
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
HOSTILE = [
    "0",
    "-1",
    "1e9",
    str(2**31),
    str(2**63),
    "9" * 40,
    "abc",
    "%00",
    "%0D%0ASet-Cookie:%20x=1",
    "%FF%FE",
    "%ED%A0%80",  # an encoded lone surrogate
    "%F0%9F%98%80",
    "%E2%80%AE",  # right-to-left override
    "..",
    "%2E%2E%2F%2E%2E",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "'%20OR%201=1--",
    "A" * 5000,
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-13-01",
    "+2026-04-30",
    "2026-W18-4",
]
QUERIES = ["/?date={}", "/?q={}", "/topics?topic={}", "/subscribe?email={}"]


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    """The app with limits far above what the fuzzing asks, so every request is served."""
    ingest_samples(service)
    add_subscriber(service, READER, "LLM agents")
    plenty = RateLimits(
        per_ip=10**6,
        per_address=10**6,
        overall=10**6,
        mails_per_day=10**6,
        ranked_per_minute=10**6,
        posts={action: 10**6 for action in POST_LIMITS},
    )
    app = create_app(service, clock=lambda: NOW, limits=plenty)
    with TestClient(app, base_url="http://digest.test", raise_server_exceptions=False) as client:
        yield client


def good_values(service: Service, path: str) -> dict[str, str]:
    """A valid value for each parameter of ``path``: a signed link for its purpose, etc."""
    purpose = path.strip("/").split("/")[0]
    with service.db.session() as session:
        reader = subscribers.to_subscriber(subscribers.get_row(session, READER))
        paper_id = papers.papers_in_window(session, NOW.date(), 7)[0].id
    token = ""
    if purpose in LIFETIMES:
        token = service.signer.sign(purpose, reader.id, reader.email, p=paper_id, d="more")
    return {
        "token": token,
        "paper_id": str(paper_id),
        "direction": "more",
        "date": "2026-04-30",
        "topic": "agents",
    }


def hostile_paths(service: Service) -> Iterator[tuple[str, str]]:
    for route in ROUTES:
        if not isinstance(route, Route) or not PARAM.search(route.path):
            continue
        good = good_values(service, route.path)
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        for name in PARAM.findall(route.path):
            for value in HOSTILE:
                filled = {**good, name: value}
                path = PARAM.sub(lambda m, f=filled: f[m[1]], route.path)  # type: ignore[misc]
                for method in methods:
                    yield method, path


def assert_a_page(client: TestClient, method: str, path: str, csrf: str) -> None:
    data = {"csrf_token": csrf, "topics": "x"} if method == "POST" else None
    response = client.request(method, path, data=data)
    assert response.status_code < 500, f"{method} {path[:120]} → {response.status_code}"
    assert "Traceback" not in response.text


def test_no_path_parameter_value_makes_a_server_error(service: Service, client: TestClient) -> None:
    page = client.get("/subscribe").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    asked = 0
    for method, path in hostile_paths(service):
        assert_a_page(client, method, path, csrf[1])
        asked += 1
    assert asked > 300


@pytest.mark.parametrize("template", QUERIES)
def test_no_query_parameter_value_makes_a_server_error(client: TestClient, template: str) -> None:
    for value in HOSTILE:
        assert_a_page(client, "GET", template.format(value), "")


def test_a_feedback_link_with_a_huge_paper_number_is_a_404(
    service: Service, client: TestClient
) -> None:
    token = good_values(service, "/feedback")["token"]
    for number in (str(2**31), str(2**63), "9" * 40):
        response = client.get(f"/feedback/{token}/{number}/more")
        assert response.status_code == 404 and "Paper not found" in response.text
