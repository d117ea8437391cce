"""Papers first seen without authors or categories are completed from the arXiv API by id.

A real loopback HTTP server answers id_list queries with recorded API responses (filtered to
the ids asked, as the API does); other servers fail with 503 or hang past the deadline.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from digest.ingest.complete import id_list_batches
from digest.ingest.fetch import HostPacer
from digest.pipeline.complete_job import complete_metadata
from digest.pipeline.demo import run_demo
from digest.pipeline.ingest_job import ingest_files
from digest.pipeline.ingest_run import run_ingest
from digest.service import Service
from digest.store import papers
from digest.store.db import Database
from digest.store.schema import PaperRow
from tests.conftest import invoke_cli, make_settings

FIXTURES = Path(__file__).parent.parent / "fixtures"
TLDR_FEED = FIXTURES / "hf-daily-papers" / "rss-takara-tldr-2026-04-30.xml"
API_ANSWER = FIXTURES / "arxiv-api" / "2026_search-cat-cs.LG-OR-cs.AI_max20.xml"
IN_BOTH = {"2604.26881", "2604.26904", "2604.26919", "2604.26932"}  # the feed and the answer
NOW = dt.datetime(2026, 4, 30, 8, 0, tzinfo=dt.UTC)
_ENTRY = re.compile(r"<entry>.*?</entry>\s*", re.S)
_ABS_ID = re.compile(r"<id>https?://arxiv\.org/abs/([^<v]+)")


class ArxivApiServer(ThreadingHTTPServer):
    """The recorded answer, cut to the entries whose ids were asked; or 503, or a hang."""

    daemon_threads = True

    def __init__(self, mode: str = "answer") -> None:
        super().__init__(("127.0.0.1", 0), ApiHandler)
        self.mode = mode
        self.asked: list[list[str]] = []
        self.released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/query"


class ApiHandler(BaseHTTPRequestHandler):
    server: ArxivApiServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        query = parse_qs(urlsplit(self.path).query)
        ids = query.get("id_list", [""])[0].split(",")
        self.server.asked.append(ids)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if self.server.mode == "hang":
                self.server.released.wait(10)  # bounded: the test's deadline is far shorter
                return
            if self.server.mode == "fail":
                self.reply(503, b"busy", **{"Retry-After": "0"})
                return
            self.reply(200, recorded_answer(set(ids)))

    def reply(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/atom+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def recorded_answer(ids: set[str]) -> bytes:
    """The recorded API feed with only the entries of ``ids`` (the API's id_list behaviour)."""
    text = API_ANSWER.read_text(encoding="utf-8")

    def keep(match: re.Match[str]) -> str:
        found = _ABS_ID.search(match.group(0))
        return match.group(0) if found and found.group(1) in ids else ""

    return _ENTRY.sub(keep, text).encode()


@contextlib.contextmanager
def api_server(mode: str = "answer") -> Iterator[ArxivApiServer]:
    server = ArxivApiServer(mode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()


def open_service(database_url: str, tmp_path: Path, api_url: str, **settings: object) -> Service:
    Database(database_url).upgrade()
    values: dict[str, object] = {"complete_metadata": True, "arxiv_api_url": api_url}
    return Service.open(make_settings(database_url, tmp_path, **{**values, **settings}))


def stored(service: Service) -> dict[str, PaperRow]:
    with service.db.session() as session:
        rows = session.scalars(select(PaperRow)).all()
        session.expunge_all()
    return {row.arxiv_id or row.key: row for row in rows}


def test_a_tldr_feeds_papers_get_authors_and_categories_from_one_batched_request(
    database_url: str, tmp_path: Path
) -> None:
    with api_server() as server:
        service = open_service(database_url, tmp_path, server.url)
        ingest_files(service, [TLDR_FEED], now=NOW)
        before = stored(service)
        assert len(before) == 50 and not any(row.authors for row in before.values())

        reports = run_ingest(service, now=NOW, pacer=HostPacer(0.0))

        assert len(server.asked) == 1 and len(server.asked[0]) == 50  # one id_list for all
        assert set(server.asked[0]) == set(before)
        after = stored(service)
        for arxiv_id in IN_BOTH:
            assert after[arxiv_id].authors, arxiv_id
            assert after[arxiv_id].categories and "." in after[arxiv_id].categories[0]
            assert after[arxiv_id].title == before[arxiv_id].title  # only empty fields fill
            assert after[arxiv_id].announced_at == before[arxiv_id].announced_at
        assert all(row.metadata_checked_at for row in after.values())
        (completed,) = [r for r in reports if r.source.startswith("arXiv API")]
        assert completed.updated == 4 and completed.error is None

        run_ingest(service, now=NOW, pacer=HostPacer(0.0))
        assert len(server.asked) == 1  # asked once per paper: unknown ids are not asked again
        service.close()


def test_the_completed_authors_reach_the_paper_model(database_url: str, tmp_path: Path) -> None:
    with api_server() as server:
        service = open_service(database_url, tmp_path, server.url)
        ingest_files(service, [TLDR_FEED], now=NOW)
        run_ingest(service, now=NOW, pacer=HostPacer(0.0))
        with service.db.session() as session:
            listed = {p.arxiv_id: p for p in papers.list_papers(session)}
        service.close()
    assert all(listed[arxiv_id].authors for arxiv_id in IN_BOTH)


def test_a_failing_api_costs_one_request_a_run_and_a_bounded_number_in_all(
    tmp_path: Path,
) -> None:
    with api_server("fail") as server:
        service = open_service(f"sqlite:///{tmp_path / 'd.db'}", tmp_path, server.url)
        ingest_files(service, [TLDR_FEED], now=NOW)
        for _ in range(5):
            reports = run_ingest(service, now=NOW, pacer=HostPacer(0.0))
            (completed,) = [r for r in reports if r.source.startswith("arXiv API")] or [None]
            if completed is not None:
                assert completed.error and "503" in completed.error
        service.close()
    # three attempts (the fetch's retries) per run, for MAX_ATTEMPTS runs; then never again
    assert len(server.asked) == 3 * 3
    assert all(row.metadata_attempts == 3 for row in stored(service).values())


def test_a_hanging_api_is_given_up_at_the_deadline(tmp_path: Path) -> None:
    with api_server("hang") as server:
        service = open_service(
            f"sqlite:///{tmp_path / 'd.db'}", tmp_path, server.url, http_timeout=0.5
        )
        ingest_files(service, [TLDR_FEED], now=NOW)
        started = time.monotonic()
        reports = run_ingest(service, now=NOW, pacer=HostPacer(0.0))
        elapsed = time.monotonic() - started
        service.close()
    (completed,) = [r for r in reports if r.source.startswith("arXiv API")]
    assert completed.error and "timed out" in completed.error
    assert elapsed < 5 and len(server.asked) == 1
    assert not any(row.authors for row in stored(service).values())


def test_the_setting_turns_completion_off(tmp_path: Path) -> None:
    with api_server() as server:
        service = open_service(
            f"sqlite:///{tmp_path / 'd.db'}", tmp_path, server.url, complete_metadata=False
        )
        ingest_files(service, [TLDR_FEED], now=NOW)
        run_ingest(service, now=NOW, pacer=HostPacer(0.0))
        service.close()
    assert server.asked == []


def test_the_offline_demo_never_asks_the_api(tmp_path: Path) -> None:
    with api_server() as server:
        service = open_service(f"sqlite:///{tmp_path / 'd.db'}", tmp_path, server.url)
        result = run_demo(service, now=NOW)
        service.close()
    assert server.asked == []
    assert not any(r.source.startswith("arXiv API") for r in result.ingest)


@pytest.mark.parametrize("order", ["tldr-first", "listing-first"])
def test_a_richer_later_sighting_fills_empty_authors_whatever_the_order(
    tmp_path: Path, order: str
) -> None:
    """The TL;DR feed has no authors; the API listing has them, and they stay either way."""
    service = open_service(f"sqlite:///{tmp_path / 'd.db'}", tmp_path, "http://127.0.0.1:9")
    files = [TLDR_FEED, API_ANSWER] if order == "tldr-first" else [API_ANSWER, TLDR_FEED]
    for path in files:
        ingest_files(service, [path], now=NOW)
    rows = stored(service)
    service.close()
    assert all(rows[arxiv_id].authors for arxiv_id in IN_BOTH)


def test_digest_ingest_completes_papers_and_says_so(cli_env: dict[str, str]) -> None:
    with api_server() as server:
        env = {**cli_env, "DIGEST_COMPLETE_METADATA": "1", "DIGEST_ARXIV_API_URL": server.url}
        invoke_cli(env, "sources", "add", str(TLDR_FEED), "--name", "tldr")
        output = invoke_cli(env, "ingest", "--host-delay", "0")
        invoke_cli({**env, "DIGEST_COMPLETE_METADATA": "0"}, "ingest", "--host-delay", "0")
    assert "arXiv API (metadata): new 0, updated 4" in output
    assert len(server.asked) == 1


def test_requests_are_batched_and_spaced_by_the_host_pacer(tmp_path: Path) -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    pacer = HostPacer(3.0, clock=lambda: clock[0], sleep=sleep)
    with api_server() as server:
        service = open_service(f"sqlite:///{tmp_path / 'd.db'}", tmp_path, server.url)
        ingest_files(service, [TLDR_FEED], now=NOW)
        report = complete_metadata(service, now=NOW, pacer=pacer, batch=20)
        service.close()
    assert [len(ids) for ids in server.asked] == [20, 20, 10]
    assert waits == [3.0, 3.0] and report.pages == 3 and report.updated == 4


def test_id_list_urls_carry_the_ids_and_a_matching_max_results() -> None:
    ids = [f"2604.{n:05d}" for n in range(250)]
    batches = id_list_batches("https://export.arxiv.org/api/query", ids)
    assert [len(asked) for _, asked in batches] == [100, 100, 50]
    url, asked = batches[2]
    query = parse_qs(urlsplit(url).query)
    assert query["id_list"] == [",".join(asked)] and query["max_results"] == ["50"]
