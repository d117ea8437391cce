"""A real headless Chromium through the whole sign-up: subscribe, confirm, manage, unsubscribe.

JavaScript is switched off in the browser, so every step must work with HTML forms alone, and
the console is checked for Content-Security-Policy violations. A screenshot of each page goes
to $DIGEST_SCREENSHOTS (default artifacts/screenshots/). Needs /usr/bin/chromium and
/usr/bin/chromedriver (Debian: apt-get install chromium chromium-driver) and selenium.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from digest import pipeline
from digest.config import Settings
from digest.resources import samples_dir
from digest.service import Service
from digest.store import subscribers
from digest.store.db import Database
from digest.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip(
        "needs /usr/bin/chromium and /usr/bin/chromedriver "
        "(apt-get install chromium chromium-driver); CI installs them",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
from selenium.webdriver.common.by import By  # noqa: E402


@dataclass
class Site:
    url: str
    service: Service


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """`digest serve` in a thread on an ephemeral port, with the sample papers ingested."""
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    database_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    Database(database_url).upgrade()
    settings = Settings(
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        base_url=url,
        secret_key="e2e-secret",
    )
    service = Service.open(settings)
    now = dt.datetime.now(dt.UTC)
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=now)
    config = uvicorn.Config(create_app(service), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web server did not start"
    yield Site(url, service)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    service.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="digest-chromium-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=DriverService(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("DIGEST_SCREENSHOTS", "artifacts/screenshots/"))
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snap(driver: Any, name: str, width: int = 1280) -> None:
    """A full-page screenshot: the window is stretched to the page's height first."""
    height = driver.execute_cdp_cmd(
        "Runtime.evaluate",
        {"expression": "document.documentElement.scrollHeight", "returnByValue": True},
    )["result"].get("value", 1000)
    driver.set_window_size(width, min(max(int(height) + 120, 600), 8000))
    driver.save_screenshot(str(screenshots_dir() / f"{name}.png"))
    driver.set_window_size(1280, 1000)


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
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(page))


def preview_topics(driver: Any) -> list[str]:
    preview = driver.find_element(By.CSS_SELECTOR, "section.preview")
    return [h.text.lower() for h in preview.find_elements(By.CSS_SELECTOR, "h3.topic")]


def csp_violations(driver: Any) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def test_subscribe_confirm_manage_and_unsubscribe_in_a_browser(site: Site, browser: Any) -> None:
    browser.get(site.url + "/")
    assert "Get trending papers in your email inbox once a day!" in browser.page_source
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.paper")) > 5
    snap(browser, "01-home")
    snap(browser, "01-home-mobile", width=390)

    browser.find_element(By.CSS_SELECTOR, "input[type=email][name=email]").send_keys(
        "ada@example.org"
    )
    browser.find_element(By.CSS_SELECTOR, "textarea[name=topics]").send_keys(
        "LLM agents\nreinforcement learning"
    )
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".subscribe-form button"))
    assert "Check your inbox" in browser.find_element(By.TAG_NAME, "h1").text
    snap(browser, "02-check-inbox")

    (confirmation,) = wait_for_mail(site.service, 1)
    link = re.search(rf"{re.escape(site.url)}/confirm/\S+", text_of(confirmation))
    assert link, "no confirm link in the email"
    browser.get(link[0])
    buttons = browser.find_elements(By.CSS_SELECTOR, "main button")
    assert len(buttons) == 1
    snap(browser, "03-confirm")
    click_and_wait(browser, buttons[0])
    assert "You are subscribed" in browser.find_element(By.TAG_NAME, "h1").text
    snap(browser, "04-confirmed")
    with site.service.db.session() as session:
        assert subscribers.get_row(session, "ada@example.org").state == "confirmed"

    click_and_wait(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "preview your digest"))
    before = preview_topics(browser)
    assert "reinforcement learning" in before or "llm agents" in before
    snap(browser, "05-manage")

    topics = browser.find_element(By.ID, "topics")
    topics.clear()
    topics.send_keys("diffusion models\nvideo generation")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".manage-form button"))
    assert "Saved." in browser.page_source
    after = preview_topics(browser)
    assert after != before and "diffusion models" in after
    snap(browser, "06-manage-saved")
    assert csp_violations(browser) == []

    welcome = wait_for_mail(site.service, 2)[-1]
    unsubscribe = re.search(r"<(https?://[^>]+)>", str(welcome["List-Unsubscribe"]))
    assert unsubscribe and welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = httpx.post(unsubscribe[1], data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert response.status_code == 200
    with site.service.db.session() as session:
        assert subscribers.get_row(session, "ada@example.org").state == "unsubscribed"

    browser.get(unsubscribe[1])
    assert "already unsubscribed" in browser.page_source
    snap(browser, "07-unsubscribe")
