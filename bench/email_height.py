"""How tall the demo digest is in a browser: `digest demo`'s HTML parts opened in headless Chromium.

For each demo email: its height (document scrollHeight, CSS px) at 640 and 375 px wide, the
widest scroll width (over the window: sideways scroll), how many picks it shows, and the .eml's
size. Printed beside the budget (2,400 px at 640 px for 10 papers, issue 16) and the figures
measured before issue 16's compact pick (commit 30b263c): 3,342 / 4,188 px (ada) and
3,497 / 4,540 px (grace) at 640 / 375 px, 34.7 / 36.5 KB.

Usage: python bench/email_height.py [--keep DIR] (needs Debian's chromium and chromium-driver
and selenium, the dev extra). The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService

ROOT = Path(__file__).resolve().parent.parent
BUDGET_640 = 2400
BEFORE = {"ada": (3342, 4188), "grace": (3497, 4540)}
WIDTHS = (640, 375)


def run_demo(folder: Path) -> list[Path]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DIGEST_DATABASE_URL", None)
    env.pop("DIGEST_OUTBOX_DIR", None)
    command = [sys.executable, "-m", "digest", "demo"]
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    return sorted((folder / "outbox").glob("*.html"))


def measure(driver: webdriver.Chrome, page: Path, width: int) -> dict[str, int]:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.get(page.as_uri())
    figures = driver.execute_script(
        "const e = document.documentElement;"
        "return {height: e.scrollHeight, scroll_width: e.scrollWidth,"
        " picks: document.querySelectorAll('.paper').length};"
    )
    return {key: int(value) for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run the demo in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="digest-email-height-"))
    folder.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="digest-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=DriverService("/usr/bin/chromedriver"))
    results = {}
    try:
        for page in run_demo(folder):
            name = page.name.split("@")[0]
            eml = page.with_suffix(".eml")
            row: dict[str, object] = {"eml_kb": round(eml.stat().st_size / 1024, 1)}
            for width in WIDTHS:
                row[str(width)] = measure(driver, page, width)
            before = BEFORE.get(name)
            print(
                f"{name}: 640 px {row['640']} (before {before[0] if before else '?'}, "
                f"budget {BUDGET_640}); 375 px {row['375']} "
                f"(before {before[1] if before else '?'}); {row['eml_kb']} KB"
            )
            results[name] = row
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"budget_640": BUDGET_640, "before": BEFORE, "after": results}))


if __name__ == "__main__":
    main()
