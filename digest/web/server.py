"""`digest serve`: the web app under uvicorn, in the foreground until interrupted."""

from __future__ import annotations

import sys

import uvicorn

from digest.service import Service
from digest.web.app import create_app

# How long a busy thread may hold the GIL before another gets a turn (CPython's default is
# 5 ms). A thread that ranks papers would otherwise make every short request wait 5 ms at
# each of its many hand-overs (thread pool, database, socket): with one ranking thread busy,
# /healthz took up to 0.2 s at 5 ms and under 0.09 s at 1 ms.
SWITCH_INTERVAL_SECONDS = 0.001


def serve(service: Service, *, host: str, port: int) -> None:
    """Serve until Ctrl-C; the service is closed on the way out.

    uvicorn's own proxy-header handling is off: the app reads X-Forwarded-For itself, from
    DIGEST_TRUSTED_PROXIES only (:mod:`digest.web.clients`), and keeps the direct peer.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    try:
        uvicorn.run(
            create_app(service),
            host=host,
            port=port,
            proxy_headers=False,
            server_header=False,
            log_level="info",
        )
    finally:
        service.close()
