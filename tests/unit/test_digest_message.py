"""A whole digest message from a Composer built by hand: render/ needs no database.

The Composer here is what ``Service.composer`` builds, made from its parts: a LinkBuilder over a
Signer with a fixed key, an EmailRenderer and MessageSettings. The bytes are parsed back with
the stdlib email parser, as a mail client reads them.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from digest.render.compose import Composer, MessageSettings, compose_digest, digest_message_id
from digest.render.renderer import EmailRenderer
from digest.tokens import LinkBuilder, Signer
from tests.unit.render_support import make_digest

NOW = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
KEY = "a fixed key for tests only"
ROOT = Path(__file__).parents[2]


def make_composer() -> Composer:
    return Composer(
        message=MessageSettings(
            sender="Papers digest <papers@news.example>",
            domain="news.example",
            list_name="Papers digest",
        ),
        links=LinkBuilder(Signer(KEY), "https://digest.example", "papers@news.example"),
        renderer=EmailRenderer(
            list_name="Papers digest",
            postal_address="Digest Ltd, 1 Example Street, Springfield",
            base_url="https://digest.example",
        ),
    )


@pytest.fixture(scope="module")
def composed() -> tuple[Composer, EmailMessage, bytes]:
    composer = make_composer()
    digest = make_digest()
    message_id = digest_message_id("news.example", digest.subscriber.id, digest.date)
    _, outgoing = compose_digest(composer, digest, message_id=message_id, now=NOW)
    assert (outgoing.sender, outgoing.recipient) == (
        "Papers digest <papers@news.example>",
        "ada@example.org",
    )
    parsed = email.message_from_bytes(outgoing.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return composer, parsed, outgoing.data


def test_the_message_has_the_digests_subject_and_addresses(
    composed: tuple[Composer, EmailMessage, bytes],
) -> None:
    _, message, _ = composed
    assert message["Subject"] == "Your papers for Tue 24 Nov: agents, reward models +2"
    assert message["From"].addresses[0].display_name == "Papers digest"
    assert message["From"].addresses[0].addr_spec == "papers@news.example"
    assert message["To"] == "ada@example.org"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == digest_message_id("news.example", 7, NOW.date())
    assert "DKIM-Signature" not in message  # no signer in this Composer


def test_the_message_is_text_then_html_with_the_rendered_digest(
    composed: tuple[Composer, EmailMessage, bytes],
) -> None:
    _, message, data = composed
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert [text.get_content_type(), html.get_content_type()] == ["text/plain", "text/html"]
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    plain, markup = str(text.get_content()), str(html.get_content())
    assert "Your papers for Tue 24 Nov" in plain
    assert markup.count("More like this") == len(make_digest().picks)
    assert all(line.endswith(b"\r") for line in data.split(b"\n")[:-1])  # CRLF throughout


def test_the_html_part_goes_as_7bit_with_every_pick_showing_all_its_buttons(
    composed: tuple[Composer, EmailMessage, bytes],
) -> None:
    """Each button's inlined style is about 290 characters: a pick's row of five on one line
    passed 998, and quoting the whole HTML part was most of a message's MIME cost."""
    _, message, data = composed
    html = message.get_body(("html",))
    assert isinstance(html, EmailMessage)
    assert html["Content-Transfer-Encoding"] == "7bit"
    assert max(map(len, data.split(b"\r\n"))) <= 998
    markup = str(html.get_content())
    assert markup.count(">Code</a>") == sum(
        p.paper.code_url is not None for p in make_digest().picks
    )
    assert markup.count(">Less like this</a></p>") == len(make_digest().picks)


def test_the_list_headers_carry_links_that_the_signer_accepts(
    composed: tuple[Composer, EmailMessage, bytes],
) -> None:
    composer, message, _ = composed
    assert message["List-Id"] == "Papers digest <digest.news.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Feedback-ID"] == "2026-11-24:7:digest:news.example"
    https, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    token = https.removeprefix("https://digest.example/unsubscribe/")
    assert token != https and mailto.startswith("mailto:papers@news.example?")
    assert composer.links.signer.verify("unsubscribe", token).subscriber_id == 7
    text = message.get_body(("plain",))
    assert isinstance(text, EmailMessage)
    manage = re.search(r"https://digest\.example/manage/(\S+)", str(text.get_content()))
    assert manage is not None
    assert composer.links.signer.verify("manage", manage[1]).subscriber_id == 7


def test_composing_a_digest_loads_no_database_code() -> None:
    """In a fresh interpreter, so modules the other tests imported do not count."""
    script = textwrap.dedent(
        """
        import sys
        from tests.unit.render_support import make_digest
        from tests.unit.test_digest_message import NOW, make_composer
        from digest.render.compose import compose_digest

        compose_digest(make_composer(), make_digest(), message_id="<m@news.example>", now=NOW)
        loaded = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("sqlalchemy", "alembic", "psycopg")
            or name.startswith(("digest.store", "digest.service", "digest.pipeline"))
        )
        print(loaded)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
