"""Shared by the browser tests: a site served on loopback with the sample papers, a headless
Chromium (scripts off unless asked), full-page screenshots and measures taken in the page.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: apt-get install chromium
chromium-driver) and selenium; the test modules skip themselves when these are missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digest import pipeline
from digest.config import Settings
from digest.resources import samples_dir
from digest.service import Service
from digest.store.db import Database
from digest.web import create_app
from tests.web_server import LoopbackPort

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
MISSING = not CHROMIUM.exists() or not CHROMEDRIVER.exists()
SKIP_REASON = (
    "needs /usr/bin/chromium and /usr/bin/chromedriver "
    "(apt-get install chromium chromium-driver); CI installs them"
)


@dataclass
class Site:
    url: str
    service: Service


@contextmanager
def serving_site(folder: Path) -> Iterator[Site]:
    """`digest serve` in a thread on an ephemeral port, with the sample papers ingested."""
    port = LoopbackPort()
    database_url = f"sqlite:///{folder / 'e2e.db'}"
    Database(database_url).upgrade()
    settings = Settings(
        database_url=database_url,
        outbox_dir=folder / "outbox",
        base_url=port.url,
        secret_key="e2e-secret",
    )
    service = Service.open(settings)
    now = dt.datetime.now(dt.UTC)
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=now)
    with port.serving(create_app(service)):
        yield Site(port.url, service)
    service.close()


@contextmanager
def chromium(*, javascript: bool = False, flags: tuple[str, ...] = ()) -> Iterator[Any]:
    """A headless Chromium driven by chromedriver, 1280 px wide, its own throwaway profile;
    ``flags`` are added to CHROMIUM_FLAGS."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="digest-chromium-")
    for flag in (*CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    if not javascript:
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


def evaluate(driver: Any, script: str) -> Any:
    """``script``'s value, run through the DevTools protocol (so also with scripts off)."""
    result = driver.execute_cdp_cmd(
        "Runtime.evaluate", {"expression": script, "returnByValue": True}
    )
    return result["result"].get("value")


def click_and_wait(driver: Any, selector: str, text: str, timeout: float = 10) -> None:
    """Press the control and wait for the page the form answers with to show ``text`` (a
    click returns before the browser has loaded the answer)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element("css selector", selector).click()
    WebDriverWait(driver, timeout).until(lambda d: text in d.page_source)


def set_viewport(driver: Any, width: int, height: int = 900) -> None:
    """The page's layout width exactly (a window's size includes the browser's frame)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def snap(driver: Any, name: str, width: int = 1280) -> None:
    """A full-page screenshot at a layout width of ``width`` px."""
    set_viewport(driver, width)
    height = evaluate(driver, "document.documentElement.scrollHeight") or 900
    set_viewport(driver, width, min(max(int(height), 600), 8000))
    driver.save_screenshot(str(screenshots_dir() / f"{name}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# Labels, text contrast (WCAG AA) and the controls Tab should reach, measured in the page.
A11Y_SCRIPT = r"""
(() => {
  const folded = (el) => el.closest('details:not([open])') !== null && !el.closest('summary');
  const hidden = (el) => folded(el)
    || el.closest('[aria-hidden=true], .visually-hidden, .honeypot') !== null;
  const shown = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const key = (el) => [el.tagName, el.id, el.name || '',
    el.type === 'radio' ? '' : (el.value || ''), el.getAttribute('href') || '',
    (el.textContent || '').trim().slice(0, 40)].join('|');
  const controls = [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !hidden(el));
  const unlabelled = controls.filter((el) => !(
    (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest('label') ||
    el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'))).map(key);
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => { for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; }
    return [255, 255, 255]; };
  const lowContrast = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!shown(el) || hidden(el) || el.closest('.skip-link')) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio < needed) lowContrast.push(`${key(el)} ${ratio.toFixed(2)}`);
  }
  const focusable = [...document.querySelectorAll(
      'a[href], button, input, select, textarea, summary')]
    .filter((el) => el.type !== 'hidden' && !el.disabled && el.tabIndex >= 0 && !hidden(el)
      && shown(el));
  const radioGroups = new Set();
  const expected = focusable.filter((el) => {
    if (el.type !== 'radio') return true;
    if (radioGroups.has(el.name)) return false;
    radioGroups.add(el.name); return true;
  }).map(key);
  return JSON.stringify({unlabelled, lowContrast, expected});
})()
"""


LAYOUT_SCRIPT = r"""
(() => {
  const root = document.documentElement;
  const shown = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden'
    && el.closest('[aria-hidden=true], .visually-hidden, .honeypot') === null
    && !(el.closest('details:not([open])') && !el.closest('summary'));
  const name = (el) => `${el.tagName.toLowerCase()}#${el.id || el.name || ''}`
    + ` "${(el.textContent || el.value || '').trim().slice(0, 30)}"`;
  const targets = [...document.querySelectorAll(
      'button, input, select, textarea, a.button, .actions a')]
    .filter((el) => el.type !== 'hidden' && el.type !== 'radio' && el.type !== 'checkbox'
      && shown(el));
  const small = targets.filter((el) => el.getBoundingClientRect().height < 24)
    .map((el) => `${name(el)} ${el.getBoundingClientRect().height.toFixed(1)}px`);
  const wide = [...document.querySelectorAll('body *')].filter(shown)
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5)
    .map((el) => `${name(el)} right=${el.getBoundingClientRect().right.toFixed(0)}`);
  const text = document.body.innerText;
  const latex = (text.match(/\$[^$\n]{1,80}\$|\\[a-zA-Z]{2,}\{/g) || []);
  return JSON.stringify({scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
    height: root.scrollHeight, small, wide: wide.slice(0, 5), latex});
})()
"""


@dataclass(frozen=True)
class Layout:
    """What one page measures at one width."""

    scroll_width: int
    client_width: int
    height: int
    small_targets: list[str]
    too_wide: list[str]
    latex: list[str]

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.client_width


def measure(driver: Any, width: int) -> Layout:
    set_viewport(driver, width)
    found = json.loads(evaluate(driver, LAYOUT_SCRIPT))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return Layout(
        found["scrollWidth"],
        found["clientWidth"],
        found["height"],
        found["small"],
        found["wide"],
        found["latex"],
    )


def low_contrast_in_dark_mode(driver: Any) -> list[str]:
    """Text below WCAG AA contrast with ``prefers-color-scheme: dark`` emulated."""
    dark = [{"name": "prefers-color-scheme", "value": "dark"}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": dark})
    try:
        found: list[str] = json.loads(evaluate(driver, A11Y_SCRIPT))["lowContrast"]
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    return found
