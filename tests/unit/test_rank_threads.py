"""Ranking from several threads at once (the web's pages beside the scheduler in one process)."""

from __future__ import annotations

import random
import string
import threading

from digest.rank import text


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
