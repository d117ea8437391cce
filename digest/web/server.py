"""`digest serve`: the web app under uvicorn, in the foreground until interrupted."""

from __future__ import annotations

import uvicorn

from digest.service import Service
from digest.web.app import create_app


def serve(service: Service, *, host: str, port: int) -> None:
    """Serve until Ctrl-C; the service is closed on the way out.

    Behind a reverse proxy on the same host, uvicorn takes the client address from
    X-Forwarded-For (it trusts 127.0.0.1 only), so the rate limits see the real client.
    """
    try:
        uvicorn.run(
            create_app(service),
            host=host,
            port=port,
            proxy_headers=True,
            server_header=False,
            log_level="info",
        )
    finally:
        service.close()
