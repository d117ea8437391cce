"""The demo digest as a reader sees it: its HTML part opened in headless Chromium.

At 640 and 375 px wide, light and dark (``prefers-color-scheme``): a full-page screenshot into
$DIGEST_SCREENSHOTS (default artifacts/screenshots/), no sideways scroll, every link button at
least 24 px tall and wide (WCAG 2.2 target size), the picks' authors shown, no LaTeX source
visible, and at 640 px a 10-paper digest at most 2,400 px tall. Needs /usr/bin/chromium and
/usr/bin/chromedriver (Debian: apt-get install chromium chromium-driver) and selenium.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from digest import pipeline
from digest.config import Settings
from digest.render.mime import parts_of
from digest.render.text import shorten_authors
from digest.service import Service
from digest.store import archive, subscribers
from digest.store.db import Database
from tests.e2e.browser_support import CHROMEDRIVER, CHROMIUM, chromium, screenshots_dir

if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")

MAX_HEIGHT_640 = 2400
MAX_BYTES = 100_000  # Gmail clips a message past about 102 KB
MIN_TARGET = 24
LATEX = re.compile(r"\$|\\[A-Za-z]+")
MEASURE = """
const root = document.documentElement;
const buttons = [...document.querySelectorAll('a.btn')].map((a) => {
  const box = a.getBoundingClientRect();
  return {label: a.textContent.trim(), height: box.height, width: box.width};
});
return {height: root.scrollHeight, scrollWidth: root.scrollWidth, viewport: window.innerWidth,
        text: document.body.innerText, buttons: buttons,
        background: getComputedStyle(document.querySelector('.card')).backgroundColor};
"""


@dataclass(frozen=True)
class DemoEmail:
    name: str
    html_file: Path
    authors: tuple[str, ...]  # each pick's short authors, where the paper has any
    picks: int
    size: int  # the whole message, in bytes


@pytest.fixture(scope="module")
def demo_emails(tmp_path_factory: pytest.TempPathFactory) -> list[DemoEmail]:
    """`digest demo` in a fresh folder; each digest's HTML part as a file to open."""
    folder = tmp_path_factory.mktemp("demo")
    database_url = f"sqlite:///{folder / 'digest.db'}"
    Database(database_url).upgrade()
    settings = Settings(
        database_url=database_url,
        outbox_dir=folder / "outbox",
        secret_key="screens-secret",
        complete_metadata=False,
    )
    service = Service.open(settings)
    try:
        result = pipeline.run_demo(service, now=dt.datetime.now(dt.UTC))
        with service.db.session() as session:
            ids = {row.email: row.id for row in subscribers.all_rows(session)}
            found = []
            for eml in sorted(settings.outbox_dir.glob("*.eml")):
                message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                address = str(message["To"])
                digest = archive.delivered_digest(session, ids[address], result.date)
                assert digest is not None
                page = folder / f"{address.split('@')[0]}.html"
                page.write_text(parts_of(eml.read_bytes())[1], encoding="utf-8")
                authors = tuple(
                    shorten_authors(p.paper.authors) for p in digest.picks if p.paper.authors
                )
                size = eml.stat().st_size
                found.append(DemoEmail(page.stem, page, authors, len(digest.picks), size))
    finally:
        service.close()
    assert found, "the demo sent no digest"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(javascript=True, flags=("--hide-scrollbars",)) as driver:
        yield driver


def open_email(driver: Any, page: Path, width: int, scheme: str) -> dict[str, Any]:
    """The page at ``width`` CSS px in ``scheme``, measured, then shot whole."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(page.as_uri())
    figures: dict[str, Any] = driver.execute_script(MEASURE)
    full = {**metrics, "height": int(figures["height"])}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", full)
    shot = screenshots_dir() / f"email-{page.stem}-{width}{'-dark' if scheme == 'dark' else ''}.png"
    driver.save_screenshot(str(shot))
    return figures


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [640, 375])
def test_the_demo_digest_reads_well_at_phone_and_desktop_widths(
    demo_emails: list[DemoEmail], browser: Any, width: int, scheme: str
) -> None:
    for demo in demo_emails:
        seen = open_email(browser, demo.html_file, width, scheme)
        where = f"{demo.name} at {width} px ({scheme})"
        assert seen["scrollWidth"] <= seen["viewport"] == width, f"{where} scrolls sideways"
        labels = [b["label"] for b in seen["buttons"]]
        for label in ("Abstract", "PDF", "More like this", "Less like this"):
            assert labels.count(label) == demo.picks, f"{where}: {label} buttons"
        small = [b for b in seen["buttons"] if min(b["height"], b["width"]) < MIN_TARGET]
        assert not small, f"{where}: buttons under {MIN_TARGET} px: {small[:3]}"
        text = seen["text"]
        assert demo.authors, f"{demo.name}: no pick has authors, nothing to check"
        missing = [a for a in demo.authors if a not in text]
        assert not missing, f"{where}: authors not shown: {missing}"
        assert not LATEX.findall(text), f"{where} shows LaTeX: {LATEX.findall(text)[:5]}"
        assert f"{demo.picks} papers" in text and "View in browser" in text
        if scheme == "dark":
            assert seen["background"] != "rgb(255, 255, 255)", f"{where}: no dark card"
        if width == 640 and demo.picks == 10:
            assert seen["height"] <= MAX_HEIGHT_640, f"{where} is {seen['height']} px tall"


def test_the_demo_digests_stay_under_100_kb(demo_emails: list[DemoEmail]) -> None:
    for demo in demo_emails:
        assert demo.size < MAX_BYTES, f"{demo.name}: {demo.size} bytes"
