"""Every page of the site at a phone's 375 px and a desktop's 1280 px, in headless Chromium.

Each page is screenshotted at both widths (into $DIGEST_SCREENSHOTS, default
artifacts/screenshots/) and measured in the page: no sideways scroll, every button, form field
and link button at least 24 px tall (WCAG 2.2 target size), and no LaTeX source in the text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from digest import pipeline
from digest.models import Topic
from digest.store import archive, papers, subscribers
from tests.e2e.browser_support import (
    MISSING,
    SKIP_REASON,
    Layout,
    Site,
    chromium,
    click_and_wait,
    low_contrast_in_dark_mode,
    measure,
    snap,
)

if MISSING:
    pytest.skip(SKIP_REASON, allow_module_level=True)
pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")

WIDTHS = (375, 1280)
READER = "ada@example.org"


def reader_with_a_digest(site: Site) -> tuple[dict[str, str], dt.date]:
    """A confirmed reader sent yesterday's digest: (their signed page URLs, that day)."""
    now = dt.datetime.now(dt.UTC)
    service = site.service
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session,
            READER,
            now=now,
            profile_changes={
                "topics": (Topic("LLM agents"), Topic("reinforcement learning")),
                "per_digest": 8,
            },
            state="confirmed",
        )
        newest = papers.newest_announcement(session)
    assert newest is not None
    day = newest - dt.timedelta(days=1)
    report = pipeline.run_daily(service, day, now=now, ingest=False, to=READER)
    assert report.delivery is not None and report.delivery.sent == 1
    with service.db.session() as session:
        row = subscribers.get_row(session, READER)
        subscriber = subscribers.to_subscriber(row)
        sent = archive.digest_dates(session, subscriber.id)
    links = service.links.for_subscriber(subscriber)
    confirm = service.signer.sign("confirm", subscriber.id, subscriber.email)
    urls = {
        "manage": links.manage,
        "manage-preview-open": f"{links.manage}?saved=1",
        "unsubscribe": links.unsubscribe,
        "archive": links.archive,
        "archive-day": f"{links.archive}/{sent[0].isoformat()}",
        "confirm": f"{site.url}/confirm/{confirm}",
    }
    return urls, newest


def public_pages(site: Site, newest: dt.date) -> dict[str, str]:
    earlier = (newest - dt.timedelta(days=2)).isoformat()
    return {
        "home": f"{site.url}/",
        "trending": f"{site.url}/?date={earlier}",
        "search": f"{site.url}/?q=reinforcement+learning",
        "topics": f"{site.url}/topics",
        "topic": f"{site.url}/topics/LLM%20agents",
        "subscribe": f"{site.url}/subscribe",
        "not-found": f"{site.url}/no-such-page",
        "bad-link": f"{site.url}/manage/not-a-token",
    }


def measured(browser: Any, name: str) -> dict[int, Layout]:
    layouts = {}
    for width in WIDTHS:
        snap(browser, f"page-{name}-{width}", width=width)
        layouts[width] = measure(browser, width)
    return layouts


def dark_problems(browser: Any, name: str) -> list[str]:
    low = low_contrast_in_dark_mode(browser)
    return [f"{name} (dark): below AA contrast: {', '.join(low)}"] if low else []


def problems_of(name: str, layouts: dict[int, Layout]) -> list[str]:
    found = []
    for width, layout in layouts.items():
        layout = dataclasses.replace(layout, small_targets=sorted(set(layout.small_targets)))
        if layout.overflows:
            found.append(
                f"{name} @{width}: {layout.scroll_width} px wide, "
                f"too wide: {', '.join(layout.too_wide)}"
            )
        if layout.small_targets:
            found.append(f"{name} @{width}: under 24 px: {', '.join(layout.small_targets)}")
        if layout.latex:
            found.append(f"{name} @{width}: LaTeX source shown: {', '.join(layout.latex)}")
    return found


def test_every_page_fits_a_phone_and_a_desktop(site: Site, browser: Any) -> None:
    signed, newest = reader_with_a_digest(site)
    pages = {**public_pages(site, newest), **signed}
    problems: list[str] = []
    for name, url in pages.items():
        browser.get(url)
        layouts = measured(browser, name)
        problems += problems_of(name, layouts) + dark_problems(browser, name)
        print(name, {w: (m.scroll_width, m.height) for w, m in layouts.items()})
    browser.get(signed["unsubscribe"])
    click_and_wait(browser, "form[action$='/pause'] button", "Paused")
    problems += problems_of("paused", measured(browser, "paused"))
    browser.get(signed["unsubscribe"])
    click_and_wait(browser, "main form button.danger", "You are unsubscribed")
    problems += problems_of("unsubscribed", measured(browser, "unsubscribed"))
    browser.get(signed["manage"])
    assert "Subscribe again" in browser.page_source
    problems += problems_of("manage-unsubscribed", measured(browser, "manage-unsubscribed"))
    assert not problems, "\n".join(problems)


def sign_up(browser: Any, url: str, address: str) -> None:
    browser.get(url + "/subscribe")
    browser.find_element("css selector", "input[name=email]").send_keys(address)
    click_and_wait(browser, ".subscribe-form button", "Check your inbox")


def stored_zone(site: Site, address: str) -> str:
    with site.service.db.session() as session:
        return str(subscribers.get_row(session, address).timezone)


def test_sign_up_takes_the_browsers_time_zone_when_scripts_run(site: Site) -> None:
    with chromium(javascript=True) as browser:
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
        sign_up(browser, site.url, "tokyo@example.org")
        assert not [e for e in browser.get_log("browser") if "Content Security" in e["message"]]
    assert stored_zone(site, "tokyo@example.org") == "Asia/Tokyo"


def test_sign_up_offers_a_plain_select_when_scripts_are_off(site: Site, browser: Any) -> None:
    from selenium.webdriver.support.select import Select

    browser.get(site.url + "/subscribe")
    zone = Select(browser.find_element("id", "subscribe-timezone"))
    assert zone.first_selected_option.text == "UTC"
    zone.select_by_visible_text("Europe/Berlin")
    browser.find_element("css selector", "input[name=email]").send_keys("berlin@example.org")
    click_and_wait(browser, ".subscribe-form button", "Check your inbox")
    assert stored_zone(site, "berlin@example.org") == "Europe/Berlin"
