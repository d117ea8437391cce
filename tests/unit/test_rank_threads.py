"""Ranking from several threads at once (the web's pages beside the scheduler in one process)."""

from __future__ import annotations

import random
import string
import threading

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from digest.rank import text
from digest.rank.blas_threads import THREAD_SETTINGS
from digest.rank.index import build_index


def test_stemming_from_several_threads_gives_each_its_own_words() -> None:
    rng = random.Random(7)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 14))) + "ations"
        for _ in range(40_000)
    ]
    expected = [text.stem.__wrapped__(word) for word in words]  # uncached, one thread
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def stem_all(offset: int) -> None:
        try:
            results[offset] = [text.stem.__wrapped__(w) for w in words[offset::4]]
        except Exception as exc:  # noqa: BLE001 - the test reports whatever broke
            errors.append(exc)

    threads = [threading.Thread(target=stem_all, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for offset, stems in results.items():
        assert stems == expected[offset::4]


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_building_an_index_leaves_blas_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in THREAD_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with threadpool_limits(limits=2, user_api="blas"):
        build_index([])
        assert _blas_threads() and set(_blas_threads()) == {1}


def test_an_operators_thread_setting_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        build_index([])
        assert _blas_threads() == before
