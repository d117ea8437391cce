"""One line of TL;DR for a paper from an OpenAI-compatible chat completions endpoint.

Optional (DIGEST_TLDR_URL): without it, or when the endpoint fails, a pick shows its
abstract's excerpt. The whole request runs under one deadline, as a feed fetch does, so a
server that trickles its answer cannot hold a run; what comes back is cleaned to one short
line of plain text before anyone stores or shows it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from digest.errors import DigestError
from digest.ingest.fetch import run_on_own_loop
from digest.ingest.sanitize import clean_text

TLDR_MAX_CHARS = 240
ANSWER_MAX_BYTES = 200_000
PROMPT = (
    "You write one-sentence TL;DRs of research papers for a daily digest email. Answer with "
    "one plain sentence of at most 30 words, no LaTeX, no Markdown, no preamble."
)


class TldrError(DigestError):
    """The endpoint did not give a usable TL;DR; the excerpt is shown instead."""


@dataclass(frozen=True)
class TldrEndpoint:
    """Where to ask: the API base (…/v1) or the full …/chat/completions URL, model and key."""

    url: str
    model: str
    api_key: str | None = None
    timeout: float = 15.0

    @property
    def completions_url(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


def ask_tldr(endpoint: TldrEndpoint, title: str, abstract: str) -> str:
    """The model's one-line TL;DR of this paper; raises TldrError with a reason otherwise."""
    return run_on_own_loop(_ask(endpoint, title, abstract))


async def _ask(endpoint: TldrEndpoint, title: str, abstract: str) -> str:
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    body = {
        "model": endpoint.model,
        "messages": [
            {"role": "system", "content": PROMPT},
            {"role": "user", "content": f"Title: {title}\n\nAbstract: {abstract[:4000]}"},
        ],
        "max_tokens": 80,
        "temperature": 0.2,
    }
    where = endpoint.completions_url[:200]
    try:
        async with (
            asyncio.timeout(endpoint.timeout),
            httpx.AsyncClient(timeout=endpoint.timeout) as client,
        ):
            response = await client.post(endpoint.completions_url, json=body, headers=headers)
    except (TimeoutError, httpx.TimeoutException):
        raise TldrError(f"no TL;DR within {endpoint.timeout:g} s from {where}") from None
    except httpx.HTTPError as exc:
        raise TldrError(f"cannot reach {where}: {type(exc).__name__} {exc}") from None
    if response.status_code != 200:
        raise TldrError(f"HTTP {response.status_code} from {where}")
    if len(response.content) > ANSWER_MAX_BYTES:
        raise TldrError(f"answer larger than {ANSWER_MAX_BYTES} bytes from {where}")
    return tldr_from_answer(response, where)


def tldr_from_answer(response: httpx.Response, where: str) -> str:
    """choices[0].message.content as one clean line, or TldrError for any other shape."""
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise TldrError(f"not a chat completions answer from {where}") from None
    if not isinstance(content, str):
        raise TldrError(f"no text in the answer from {where}")
    line = clean_text(content, TLDR_MAX_CHARS * 2).removeprefix("TL;DR:").strip(" \"'")
    if not line:
        raise TldrError(f"an empty TL;DR from {where}")
    if len(line) > TLDR_MAX_CHARS:
        line = line[: TLDR_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return line
