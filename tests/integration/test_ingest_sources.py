"""Configured sources end to end against a loopback HTTP server: conditional GET that survives
between runs, same bytes recognised by hash, paged APIs, health, and one dead source among good.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from digest.cli import app
from digest.ingest.fetch import HostPacer
from digest.pipeline.ingest_job import ingest_sources
from digest.service import Service
from digest.store import papers, sources
from tests.conftest import invoke_cli

FIXTURES = Path(__file__).parent.parent / "fixtures"
LISTING = FIXTURES / "arxiv-rss" / "cs.CL-2026-04-27_trimmed-3-items_jmamath-distill.xml"
API_PAGE = FIXTURES / "arxiv-api" / "2026_search-cat-cs.LG-OR-cs.AI_max20.xml"
BIORXIV = FIXTURES / "biorxiv-medrxiv" / "biorxiv-api-details-2026-08-01_2026-08-05.json"
MEDRXIV = FIXTURES / "biorxiv-medrxiv" / "medrxiv-api-details-2026-08-01_2026-08-05.json"
ETAG = '"listing-v1"'
NOW = dt.datetime(2026, 4, 27, 6, 0, tzinfo=dt.UTC)
runner = CliRunner()


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.requests.append((self.path, dict(self.headers.items())))
        parts = urlsplit(self.path)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if parts.path == "/listing":
                if self.headers.get("If-None-Match") == ETAG:
                    self.reply(304, b"", ETag=ETAG)
                else:
                    self.reply(200, LISTING.read_bytes(), ETag=ETAG)
            elif parts.path == "/no-validators":
                self.reply(200, LISTING.read_bytes())
            elif parts.path == "/api/query":
                self.reply(200, api_page(int(parse_qs(parts.query)["start"][0])))
            elif parts.path.startswith("/details/biorxiv/"):
                self.reply(200, biorxiv_page(int(parts.path.rsplit("/", 1)[1])))
            else:
                self.reply(404, b"not here")

    def reply(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def api_page(start: int) -> bytes:
    """Two pages of 20 (40 results in all); the second page names other papers."""
    text = API_PAGE.read_text(encoding="utf-8")
    text = text.replace("<opensearch:totalResults>364218", "<opensearch:totalResults>40")
    text = text.replace("<opensearch:startIndex>0", f"<opensearch:startIndex>{start}")
    if start:  # other papers: other ids and other journal DOIs
        text = text.replace("2604.", "2603.").replace("<arxiv:doi>10.", "<arxiv:doi>10.9")
    return text.encode()


def biorxiv_page(cursor: int) -> bytes:
    document = json.loads((BIORXIV if cursor == 0 else MEDRXIV).read_bytes())
    document["messages"][0].update(cursor=cursor, count=10, total=20)
    return json.dumps(document).encode()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    httpd = FeedServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def url(server: FeedServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def dead_url() -> str:
    probe = FeedServer()
    port = probe.server_address[1]
    probe.server_close()
    return f"http://127.0.0.1:{port}/feed"


def add(service: Service, address: str, name: str, kind: str = "rss") -> None:
    with service.db.session() as session:
        sources.add_source(session, address, name=name, kind=kind, now=NOW - dt.timedelta(days=9))


def no_wait() -> HostPacer:
    return HostPacer(0.0)


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "DIGEST_USER_AGENT_CONTACT": "ops@example.org"}


cli = invoke_cli


def test_second_cli_ingest_sends_if_none_match_and_the_304_costs_nothing(
    env: dict[str, str], server: FeedServer
) -> None:
    cli(env, "sources", "add", url(server, "/listing"), "--name", "cl")
    first = cli(env, "ingest", "--source", "cl", "--host-delay", "0")
    second = cli(env, "ingest", "--source", "cl", "--host-delay", "0")
    assert "cl: new 3, updated 0, duplicates 0" in first
    assert "cl: new 0, updated 0, duplicates 0, failed 0  (not modified (304))" in second
    assert "If-None-Match" not in server.requests[0][1]
    assert server.requests[1][1]["If-None-Match"] == ETAG


def test_requests_carry_the_configured_contact_in_the_user_agent(
    env: dict[str, str], server: FeedServer
) -> None:
    cli(env, "sources", "add", url(server, "/listing"), "--name", "cl")
    cli(env, "ingest", "--source", "cl")
    assert "mailto:ops@example.org" in server.requests[0][1]["User-Agent"]


def test_same_bytes_without_validators_are_recognised_by_hash(
    service: Service, server: FeedServer
) -> None:
    add(service, url(server, "/no-validators"), "plain")
    (first,) = ingest_sources(service, ["plain"], now=NOW, pacer=no_wait())
    (second,) = ingest_sources(service, ["plain"], now=NOW, pacer=no_wait())
    assert first.new == 3
    assert (second.new, second.duplicates, second.note) == (0, 0, "unchanged (same bytes)")


def test_a_dead_source_is_recorded_and_the_good_file_is_still_ingested(
    service: Service,
) -> None:
    add(service, dead_url(), "a-dead")
    add(service, LISTING.as_uri(), "b-good")
    dead, good = ingest_sources(service, None, now=NOW, pacer=no_wait())
    assert dead.error is not None and "cannot fetch" in dead.error
    assert good.new == 3 and good.error is None
    with service.db.session() as session:
        health = {row.name: sources.source_json(row, NOW) for row in sources.list_sources(session)}
    assert health["a-dead"]["consecutive_failures"] == 1
    assert health["a-dead"]["last_success_at"] is None
    assert health["b-good"]["items_last_seen"] == 3


def test_a_source_failing_for_days_is_flagged_loudly(service: Service) -> None:
    add(service, dead_url(), "gone")
    ingest_sources(service, None, now=NOW - dt.timedelta(days=3), pacer=no_wait())
    (report,) = ingest_sources(service, None, now=NOW, pacer=no_wait())
    assert report.failing
    assert report.error is not None and "FAILING for 9 days" in report.error
    with service.db.session() as session:
        (row,) = sources.list_sources(session)
        shown = sources.source_json(row, NOW)
    assert shown["failing"] is True and shown["consecutive_failures"] == 2


def test_sources_list_shows_health_and_warns_about_a_failing_source(
    env: dict[str, str],
) -> None:
    cli(env, "sources", "add", dead_url(), "--name", "gone")
    cli(env, "sources", "add", str(LISTING), "--name", "local")
    result = runner.invoke(app, ["ingest", "--host-delay", "0"], env=env)
    assert result.exit_code == 0, result.output
    (gone, local) = json.loads(cli(env, "sources", "list", "--json"))
    assert gone["consecutive_failures"] == 1 and gone["last_error"]
    assert gone["last_attempt_at"] and gone["failing"] is False  # one bad hour is not an alarm
    assert local["items_last_seen"] == 3 and local["last_success_at"]


def test_arxiv_api_source_is_followed_page_by_page(service: Service, server: FeedServer) -> None:
    add(
        service,
        url(server, "/api/query?search_query=cat:cs.LG&start=0&max_results=20"),
        "api",
        kind="arxiv-api",
    )
    (report,) = ingest_sources(service, ["api"], now=NOW, pacer=no_wait())
    assert (report.pages, report.new, report.error) == (2, 40, None)
    starts = [parse_qs(urlsplit(path).query)["start"] for path, _ in server.requests]
    assert starts == [["0"], ["20"]]


def test_biorxiv_source_follows_the_cursor_until_the_total(
    service: Service, server: FeedServer
) -> None:
    add(service, url(server, "/details/biorxiv/2026-08-01/2026-08-05/0"), "bio", kind="biorxiv")
    (report,) = ingest_sources(service, ["bio"], now=NOW, pacer=no_wait())
    assert (report.pages, report.new) == (2, 20)
    assert [path for path, _ in server.requests] == [
        "/details/biorxiv/2026-08-01/2026-08-05/0",
        "/details/biorxiv/2026-08-01/2026-08-05/10",
    ]


def test_pages_of_one_run_are_spaced_by_the_pacer(service: Service, server: FeedServer) -> None:
    slept: list[float] = []
    clock = iter(float(n) for n in range(100))
    pacer = HostPacer(5.0, clock=lambda: next(clock), sleep=slept.append)
    add(service, url(server, "/details/biorxiv/2026-08-01/2026-08-05/0"), "bio", kind="biorxiv")
    ingest_sources(service, ["bio"], now=NOW, pacer=pacer)
    assert len(slept) == 1 and slept[0] > 0


def test_sources_add_accepts_shorthands_and_refuses_unknown_kinds(env: dict[str, str]) -> None:
    out = cli(env, "sources", "add", "arxiv:cs.AI+cs.LG")
    assert "(arxiv-rss): https://rss.arxiv.org/rss/cs.AI+cs.LG" in out
    refused = runner.invoke(app, ["sources", "add", "x.xml", "--kind", "podcast"], env=env)
    assert refused.exit_code != 0


def test_each_paper_of_a_paged_api_is_stored_once(service: Service, server: FeedServer) -> None:
    add(
        service,
        url(server, "/api/query?search_query=cat:cs.LG&start=0&max_results=20"),
        "api",
        kind="arxiv-api",
    )
    ingest_sources(service, ["api"], now=NOW, pacer=no_wait())
    with service.db.session() as session:
        stored = papers.list_papers(session)
    assert len({p.arxiv_id for p in stored}) == len(stored) == 40


def test_a_source_can_be_disabled_enabled_and_removed(env: dict[str, str], tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(LISTING.read_bytes())
    cli(env, "sources", "add", str(feed), "--name", "mine")
    cli(env, "sources", "disable", "mine")
    listed = json.loads(cli(env, "sources", "list", "--json"))
    assert [(s["name"], s["enabled"]) for s in listed] == [("mine", False)]
    assert "DISABLED mine" in cli(env, "sources", "list")
    cli(env, "sources", "enable", "mine")
    assert json.loads(cli(env, "sources", "list", "--json"))[0]["enabled"] is True
    cli(env, "sources", "remove", "mine")
    assert json.loads(cli(env, "sources", "list", "--json")) == []


def test_a_disabled_source_is_not_fetched(env: dict[str, str], tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(LISTING.read_bytes())
    cli(env, "sources", "add", str(feed), "--name", "mine")
    cli(env, "sources", "disable", "mine")
    cli(env, "sources", "add", str(feed), "--name", "other")
    cli(env, "ingest")
    listed = {s["name"]: s for s in json.loads(cli(env, "sources", "list", "--json"))}
    assert listed["mine"]["last_attempt_at"] is None
    assert listed["other"]["last_attempt_at"] is not None
