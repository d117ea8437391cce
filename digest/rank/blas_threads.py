"""One BLAS thread per process, unless the operator asked for more.

The ranking's dense products are small (a topic's vector against a day's 2,000 papers takes
about 20 µs), and a run shares the machine's cores with its own sending processes, PostgreSQL
and the relay. OpenBLAS's extra threads then mostly spin while waiting for each other: with
them, `bench/rank.py --subscribers 20000` on an idle machine ranked in the same wall time
(16.2 s against 16.4 s single-threaded) for 50.4 user CPU s against 32.1, and embedded the
papers more slowly (596 against 700 papers/s); `bench/daily.py --subscribers 30000` (planner
beside two sending processes) spent 48.0 CPU s planning against 33.7, and the run took 68.0 s
against 61.1.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

# Set by an operator who wants BLAS threads: left as they say.
THREAD_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_blas_thread() -> None:
    """Limit the BLAS libraries loaded so far to one thread (cheap: ~0.4 ms a call).

    Called where numpy work starts (loading the embedder, building an index), so a library
    loaded since the last call is limited too.
    """
    if not any(os.environ.get(name) for name in THREAD_SETTINGS):
        threadpool_limits(limits=1, user_api="blas")
