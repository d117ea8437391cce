"""When an SMTP pool may start its next transaction: a shared pause while the server is busy,
and an optional cap on messages per second across every connection."""

from __future__ import annotations

import asyncio


class Pacing:
    """The pool-wide pause after a busy reply or a failed connect, and the rate cap.

    A pause lasts ``backoff`` seconds, doubling while the server keeps refusing, at most
    ``max_backoff``; a message the server accepts starts the doubling over.
    """

    def __init__(self, *, backoff: float, max_backoff: float, max_per_second: float | None) -> None:
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        self._paused_until = 0.0
        self._level = 0
        self._next_start = 0.0

    def back_off(self) -> None:
        """Pause new transactions; a refusal during a pause does not lengthen it again."""
        now = asyncio.get_running_loop().time()
        if now < self._paused_until:
            return
        delay = min(self._backoff * 2**self._level, self._max_backoff)
        self._level += 1
        self._paused_until = now + delay

    def accepted(self) -> None:
        """The server took a message: the next pause is the shortest again."""
        self._level = 0

    async def wait_turn(self) -> None:
        """Return once the pause is over and the rate cap allows another transaction."""
        loop = asyncio.get_running_loop()
        while (pause := self._paused_until - loop.time()) > 0:
            await asyncio.sleep(pause)
        if self._interval:
            now = loop.time()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
            await asyncio.sleep(start - now)
