"""One-line TL;DRs per pick from an OpenAI-compatible endpoint: a loopback server that speaks
/v1/chat/completions answers, fails or hangs; the email shows the TL;DR or the excerpt."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from digest import pipeline
from digest.service import Service
from digest.store.db import Database
from digest.store.schema import PaperTldr
from tests.conftest import make_settings
from tests.integration.test_pipeline import (
    DAY,
    NOW,
    add_subscriber,
    ingest_samples,
    outbox_messages,
)

KEY = "sk-test-key-0123456789"


class ChatServer(ThreadingHTTPServer):
    """A chat completions endpoint: each answer names the paper it was asked about."""

    daemon_threads = True

    def __init__(self, mode: str = "answer") -> None:
        super().__init__(("127.0.0.1", 0), ChatHandler)
        self.mode = mode
        self.requests: list[dict[str, object]] = []
        self.released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class ChatHandler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Keep test output quiet."""

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), **body}
        )
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if self.path != "/v1/chat/completions":
                self.reply(404, {"error": {"message": "not found"}})
            elif self.server.mode == "hang":
                self.server.released.wait(10)
            elif self.server.mode == "fail":
                self.reply(500, {"error": {"message": "model overloaded"}})
            else:
                title = body["messages"][1]["content"].split("\n", 1)[0].removeprefix("Title: ")
                answer = f"TL;DR: In short, <b>{title[:40]}</b> works."
                self.reply(
                    200, {"choices": [{"message": {"role": "assistant", "content": answer}}]}
                )

    def reply(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def chat_server(mode: str = "answer") -> Iterator[ChatServer]:
    server = ChatServer(mode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()


def open_service(database_url: str, tmp_path: Path, **settings: object) -> Service:
    Database(database_url).upgrade()
    return Service.open(make_settings(database_url, tmp_path, **settings))


def cached(service: Service) -> int:
    with service.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(PaperTldr)) or 0)


def test_each_pick_gets_a_cached_tldr_and_the_email_shows_it(
    database_url: str, tmp_path: Path
) -> None:
    with chat_server() as server:
        service = open_service(
            database_url, tmp_path, tldr_url=server.url, tldr_model="tiny", tldr_api_key=KEY
        )
        ingest_samples(service)
        add_subscriber(service, "ada@example.org", "LLM agents")
        pipeline.run_daily(service, DAY, now=NOW, ingest=False)
        asked = len(server.requests)
        (message,) = outbox_messages(service)
        add_subscriber(service, "bob@example.org", "LLM agents")
        pipeline.run_daily(service, DAY, now=NOW, ingest=False)
        stored = cached(service)
        service.close()
    assert asked >= 1 and stored == asked
    assert len(server.requests) == asked  # the second reader's same picks: from the cache
    first = server.requests[0]
    assert first["model"] == "tiny" and first["auth"] == f"Bearer {KEY}"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.count("In short, ") == asked
    assert html.count("In short, ") == asked and "<b>" not in html.split("In short, ")[1][:60]


def test_a_failing_endpoint_is_asked_once_and_the_excerpt_shows(tmp_path: Path) -> None:
    with chat_server("fail") as server:
        service = open_service(f"sqlite:///{tmp_path / 'd.db'}", tmp_path, tldr_url=server.url)
        ingest_samples(service)
        add_subscriber(service, "ada@example.org", "LLM agents")
        pipeline.run_daily(service, DAY, now=NOW, ingest=False)
        (message,) = outbox_messages(service)
        service.close()
    assert len(server.requests) == 1 and cached(service) == 0
    assert "In short" not in message.get_body(("plain",)).get_content()


def test_a_hanging_endpoint_costs_one_deadline(tmp_path: Path) -> None:
    with chat_server("hang") as server:
        service = open_service(
            f"sqlite:///{tmp_path / 'd.db'}", tmp_path, tldr_url=server.url, tldr_timeout=0.5
        )
        ingest_samples(service)
        add_subscriber(service, "ada@example.org", "LLM agents")
        started = time.monotonic()
        report = pipeline.plan_digests(service, DAY, now=NOW)
        elapsed = time.monotonic() - started
        service.close()
    assert report.planned == 1 and len(server.requests) == 1
    assert elapsed < 5 and cached(service) == 0


def test_without_an_endpoint_no_tldr_is_asked_for(tmp_path: Path) -> None:
    service = open_service(f"sqlite:///{tmp_path / 'd.db'}", tmp_path)
    ingest_samples(service)
    add_subscriber(service, "ada@example.org", "LLM agents")
    assert pipeline.plan_digests(service, DAY, now=NOW).planned == 1
    assert cached(service) == 0
    service.close()
