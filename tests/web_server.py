"""The web app under uvicorn in a thread on an ephemeral loopback port: a real server for tests.

The port is bound first, so a test can put its URL into the settings before the app exists.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


class LoopbackPort:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    @contextmanager
    def serving(self, app: ASGIApp) -> Iterator[str]:
        """Serve ``app`` until the block ends; yields the URL once the server answers."""
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the web server did not start"
        try:
            yield self.url
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            self.sock.close()


def assert_healthz_answers(url: str, *, within: float, behind: str) -> None:
    """/healthz answers 200 within ``within`` seconds while ``behind`` keeps the site busy."""
    import httpx
    import pytest

    started = time.monotonic()
    try:
        health = httpx.get(f"{url}/healthz", timeout=within)
    except httpx.TimeoutException:
        pytest.fail(f"/healthz waited over {within} s behind {behind}")
    assert health.status_code == 200
    assert time.monotonic() - started < within
