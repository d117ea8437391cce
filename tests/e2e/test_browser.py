"""A real headless Chromium through the whole issue: browse, subscribe, confirm, manage, read the
archive and feed, unsubscribe with one click, and the next run not mailing that address.

JavaScript is switched off in the page, so every step must work with HTML forms alone, and the
console is checked for Content-Security-Policy violations. On each page an accessibility check
runs through the DevTools protocol (every control labelled, text contrast at WCAG AA, the Tab
key reaching every control with a visible focus ring). A screenshot of every page (and phone
layouts) goes to $DIGEST_SCREENSHOTS (default artifacts/screenshots/). Needs /usr/bin/chromium
and /usr/bin/chromedriver (Debian: apt-get install chromium chromium-driver) and selenium.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
from email.message import EmailMessage
from typing import Any

import feedparser
import httpx
import pytest

from digest import pipeline
from digest.models import Topic
from digest.service import Service
from digest.store import papers, subscribers
from tests.e2e.browser_support import (
    A11Y_SCRIPT,
    MISSING,
    SKIP_REASON,
    Site,
    evaluate,
    snap,
)

if MISSING:
    pytest.skip(SKIP_REASON, allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
from selenium.webdriver.common.by import By  # noqa: E402


def outbox(service: Service) -> list[EmailMessage]:
    paths = sorted(service.settings.outbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    messages = []
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def wait_for_mail(service: Service, count: int) -> list[EmailMessage]:
    deadline = time.monotonic() + 10
    while len(messages := outbox(service)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(messages) >= count, f"expected {count} emails, found {len(messages)}"
    return messages


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def click_and_wait(driver: Any, element: Any) -> None:
    """Click a submit button or link and wait until the next page has replaced this one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")

    def replaced(_: Any) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:  # chromedriver's other word for a replaced document
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    element.click()
    WebDriverWait(driver, 15).until(replaced)


def preview_topics(driver: Any) -> list[str]:
    preview = driver.find_element(By.CSS_SELECTOR, "section.preview")
    headings = preview.find_elements(By.CSS_SELECTOR, "h3.topic")  # folded: not shown, so not .text
    return [str(h.get_attribute("textContent")).strip().lower() for h in headings]


def csp_violations(driver: Any) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


# --- accessibility, measured in the page through the DevTools protocol ---------------------

FOCUS_START_SCRIPT = """
document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute('tabindex');
"""

ACTIVE_SCRIPT = r"""
(() => { const el = document.activeElement; if (!el || el === document.body) return '';
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const key = [el.tagName, el.id, el.name || '', el.type === 'radio' ? '' : (el.value || ''),
    el.getAttribute('href') || '', (el.textContent || '').trim().slice(0, 40)].join('|');
  return JSON.stringify({key, ring}); })()
"""


def check_accessibility(driver: Any, name: str, keyboard: bool = True) -> None:
    """Labels and contrast on the page; with ``keyboard``, Tab reaches every control visibly."""
    import json

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    found = json.loads(evaluate(driver, A11Y_SCRIPT))
    assert found["unlabelled"] == [], f"{name}: controls without a label"
    assert found["lowContrast"] == [], f"{name}: text below WCAG AA contrast"
    if not keyboard:
        return
    evaluate(driver, FOCUS_START_SCRIPT)
    reached: set[str] = set()
    no_ring: list[str] = []
    for _ in range(len(found["expected"]) + 3):  # +skip link, browser chrome, wrap-around
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = evaluate(driver, ACTIVE_SCRIPT)
        if active:
            focus = json.loads(active)
            reached.add(focus["key"])
            if not focus["ring"]:
                no_ring.append(focus["key"])
    missing = [k for k in found["expected"] if k not in reached]
    assert missing == [], f"{name}: Tab never reaches these controls"
    assert no_ring == [], f"{name}: focused controls without a visible focus ring"


def visit(driver: Any, url: str) -> None:
    driver.get(url)


def messages_to(service: Service, address: str) -> list[EmailMessage]:
    return [m for m in outbox(service) if m["To"] == address]


def newest_day(service: Service) -> dt.date:
    with service.db.session() as session:
        day = papers.newest_announcement(session)
    assert day is not None
    return day


def browse_the_public_pages(site: Site, browser: Any) -> None:
    browser.get(site.url + "/")
    assert "Get trending papers in your email inbox once a day!" in browser.page_source
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.paper")) > 5
    check_accessibility(browser, "home")
    snap(browser, "01-home")
    snap(browser, "01-home-phone", width=390)
    browser.get(site.url + "/?q=reinforcement+learning")
    assert "Papers matching" in browser.page_source
    snap(browser, "02-search")
    browser.get(site.url + "/")
    theme = browser.find_element(By.CSS_SELECTOR, ".subscribe-form .suggestions a")
    click_and_wait(browser, theme)
    assert "/topics/" in browser.current_url
    assert browser.find_element(By.ID, "subscribe-topics").get_attribute("value")
    check_accessibility(browser, "topic", keyboard=False)
    snap(browser, "03-topic")
    snap(browser, "03-topic-phone", width=390)
    browser.get(site.url + "/topics")
    snap(browser, "03-topics")
    browser.get(site.url + "/subscribe")
    browser.find_element(By.CSS_SELECTOR, "input[name=email]").send_keys("not an address")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".subscribe-form button"))
    assert "does not look like an email address" in browser.page_source
    check_accessibility(browser, "subscribe-error")
    snap(browser, "04-subscribe-error")


def subscribe_and_confirm(site: Site, browser: Any) -> None:
    browser.get(site.url + "/")
    browser.find_element(By.CSS_SELECTOR, "input[type=email][name=email]").send_keys(
        "ada@example.org"
    )
    browser.find_element(By.CSS_SELECTOR, "textarea[name=topics]").send_keys(
        "LLM agents\nreinforcement learning"
    )
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".subscribe-form button"))
    assert "Check your inbox" in browser.find_element(By.TAG_NAME, "h1").text
    snap(browser, "05-check-inbox")

    (confirmation,) = wait_for_mail(site.service, 1)
    link = re.search(rf"{re.escape(site.url)}/confirm/\S+", text_of(confirmation))
    assert link, "no confirm link in the email"
    browser.get(link[0])
    buttons = browser.find_elements(By.CSS_SELECTOR, "main button")
    assert len(buttons) == 1
    check_accessibility(browser, "confirm")
    snap(browser, "06-confirm")
    click_and_wait(browser, buttons[0])
    assert "You are subscribed" in browser.find_element(By.TAG_NAME, "h1").text
    snap(browser, "07-confirmed")
    with site.service.db.session() as session:
        assert subscribers.get_row(session, "ada@example.org").state == "confirmed"


def change_topics_and_see_the_preview_change(site: Site, browser: Any) -> str:
    """Returns the manage page's URL."""
    click_and_wait(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "preview your digest"))
    manage_url = str(browser.current_url).split("?")[0]
    before = preview_topics(browser)
    assert "reinforcement learning" in before or "llm agents" in before
    check_accessibility(browser, "manage")
    snap(browser, "08-manage")
    snap(browser, "08-manage-phone", width=390)

    topics = browser.find_element(By.ID, "topics")
    topics.clear()
    topics.send_keys("diffusion models\nvideo generation")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".manage-form button"))
    assert "Saved." in browser.page_source
    after = preview_topics(browser)
    assert after != before and "diffusion models" in after
    snap(browser, "09-manage-saved")
    note = wait_for_mail(site.service, 3)[-1]
    assert "preferences were updated" in str(note["Subject"])
    return manage_url


def read_a_digest_on_the_web(site: Site, browser: Any, day: dt.date) -> EmailMessage:
    """Ada's digest for ``day``: its archive page, the feed, a feedback page. Returns the email."""
    report = pipeline.run_daily(
        site.service, day, now=dt.datetime.now(dt.UTC), ingest=False, to="ada@example.org"
    )
    assert report.delivery is not None and report.delivery.sent == 1
    digest = messages_to(site.service, "ada@example.org")[-1]
    body = text_of(digest)
    archive = re.search(rf"{re.escape(site.url)}/archive/\S+", body)
    assert archive, "no archive link in the digest"
    browser.get(archive[0])
    assert "Your digest for" in browser.page_source
    check_accessibility(browser, "archive-day", keyboard=False)
    snap(browser, "10-archive-day")
    snap(browser, "10-archive-day-phone", width=390)
    click_and_wait(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Atom feed"))
    feed = feedparser.parse(httpx.get(browser.current_url, timeout=10).content)
    assert not feed.bozo and len(feed.entries) >= 1
    browser.get(archive[0].rsplit("/", 1)[0])
    snap(browser, "11-archive")
    more = re.search(rf"More like this: ({re.escape(site.url)}/feedback/\S+)", body)
    assert more, "no feedback link in the digest"
    browser.get(more[1])
    check_accessibility(browser, "feedback")
    snap(browser, "12-feedback")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main button"))
    snap(browser, "13-feedback-recorded")
    return digest


def test_the_whole_issue_flow_in_a_browser(site: Site, browser: Any) -> None:
    browse_the_public_pages(site, browser)
    subscribe_and_confirm(site, browser)
    manage_url = change_topics_and_see_the_preview_change(site, browser)
    day = newest_day(site.service)
    digest = read_a_digest_on_the_web(site, browser, day - dt.timedelta(days=1))

    unsubscribe = re.search(r"<(https?://[^>]+)>", str(digest["List-Unsubscribe"]))
    assert unsubscribe and digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = httpx.post(unsubscribe[1], data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert response.status_code == 200
    with site.service.db.session() as session:
        assert subscribers.get_row(session, "ada@example.org").state == "unsubscribed"
    browser.get(unsubscribe[1])
    assert "already unsubscribed" in browser.page_source
    check_accessibility(browser, "unsubscribe")
    snap(browser, "14-unsubscribe")

    # The next run mails the other subscriber and not the address that left.
    with site.service.db.session() as session:
        subscribers.upsert_subscriber(
            session,
            "bob@example.org",
            now=dt.datetime.now(dt.UTC),
            profile_changes={"topics": (Topic("language models"),), "trending": 1.0},
            state="confirmed",
        )
    mailed_ada = len(messages_to(site.service, "ada@example.org"))
    report = pipeline.run_daily(site.service, day, now=dt.datetime.now(dt.UTC), ingest=False)
    assert report.delivery is not None and report.delivery.sent == 1
    assert len(messages_to(site.service, "bob@example.org")) == 1
    assert len(messages_to(site.service, "ada@example.org")) == mailed_ada

    browser.get(manage_url + "/delete")
    assert len(browser.find_elements(By.CSS_SELECTOR, "main button")) == 1
    snap(browser, "15-delete")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main button"))
    snap(browser, "16-deleted")
    browser.get(manage_url)
    assert "This link cannot be used" in browser.page_source
    check_accessibility(browser, "bad-link")
    snap(browser, "17-bad-link")
    browser.get(site.url + "/no-such-page")
    snap(browser, "18-not-found")
    assert csp_violations(browser) == []
