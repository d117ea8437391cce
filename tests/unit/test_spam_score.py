"""SpamAssassin (offline rules, local tests only) scores a rendered digest as plainly not spam."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest

from digest.render.headers import make_message_id
from digest.render.mime import build_message
from digest.render.renderer import EmailRenderer
from tests.unit.render_support import make_digest, make_links

pytestmark = pytest.mark.skipif(
    shutil.which("spamassassin") is None,
    reason="spamassassin is not installed (Debian package spamassassin; CI's .ci/run installs it)",
)


def spam_report(message: bytes) -> tuple[float, dict[str, float]]:
    """(score, {rule: points}) from ``spamassassin -t -L`` (no network tests, no learning)."""
    run = subprocess.run(
        ["spamassassin", "-t", "-L", "--cf=report_safe 0"],
        input=message,
        capture_output=True,
        timeout=120,
        check=False,
    )
    out = run.stdout.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: .*?score=(-?[\d.]+)", out, re.MULTILINE)
    assert status, run.stderr.decode("utf-8", "replace")[-2000:]
    rules = {
        name: float(points)
        for points, name in re.findall(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s", out, re.MULTILINE)
    }
    return float(status[1]), rules


def test_a_rendered_digest_scores_under_two_with_no_html_or_mime_penalty() -> None:
    renderer = EmailRenderer(
        list_name="Papers digest",
        postal_address="Digest Ltd, 1 Example Street, Springfield",
        base_url="https://digest.example",
    )
    digest = make_digest()
    links = make_links(digest)
    message = build_message(
        renderer.render_digest(digest, links),
        sender="Papers digest <papers@digest.example>",
        recipient="ada@example.org",
        message_id=make_message_id("digest.example", "7", "2026-11-24"),
        date=dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC),
        list_id="Papers digest <digest.digest.example>",
        unsubscribe_url=links.unsubscribe,
        unsubscribe_mailto=links.unsubscribe_mailto,
        feedback_id="2026-11-24:7:digest:digest.example",
    )
    score, rules = spam_report(message)
    penalties = {r: p for r, p in rules.items() if r.startswith(("HTML_", "MIME_")) and p > 0}
    assert score < 2.0, rules
    assert not penalties, rules
