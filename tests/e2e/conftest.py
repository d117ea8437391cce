"""Fixtures the browser tests share: a served site on a fresh database, and headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import MISSING, SKIP_REASON, Site, chromium, serving_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with serving_site(tmp_path) as served:
        yield served


@pytest.fixture
def browser() -> Iterator[Any]:
    if MISSING:
        pytest.skip(SKIP_REASON)
    with chromium() as driver:
        yield driver
