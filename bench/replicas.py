"""Three `digest run` replicas on one PostgreSQL against one run: CPU seconds, exactly once.

Each side gets a fresh database with the bundled sample papers and N confirmed subscribers
(default 3,000), and sends to Postfix's smtp-sink. The figure is `cpu_ratio`: the CPU seconds
of the three replicas together (default settings: each starts its sending processes only once
it has planned LAZY_FROM deliveries itself) over those of one run with the same defaults,
measured in the same bench run; the aim is at most 1.4. `in_process_cpu_ratio` is the same
three with DIGEST_DELIVERY_PROCESSES=1; `one_up_front_*` is one run whose two sending
processes start before planning (DIGEST_DELIVERY_PROCESSES=2, the default before LAZY_FROM),
the price the lazy start may cost one run in wall seconds. `shards_by_replica` says how the
planning shards were shared. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deliver import RUN_ARGS, populate, postgres_database, run_env, smtp_sink  # noqa: E402
from sqlalchemy import select  # noqa: E402

from digest.store.schema import Delivery, PlanShard  # noqa: E402


@dataclass(frozen=True)
class Side:
    """What one side of the bench cost and what it delivered."""

    wall_s: float
    cpu_s: float
    sent: int
    deliveries: int
    most_deliveries_per_subscriber: int
    shards_by_replica: list[int]
    recipients: frozenset[int]

    def shown(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "recipients"}


def run_replicas(
    database_url: str, port: int, folder: Path, count: int, processes: int | None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) of ``count`` runs started together."""
    extra = {"DIGEST_DELIVERY_PROCESSES": str(processes)} if processes else {}
    env = run_env(database_url, port, **extra)
    started = time.perf_counter()
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "digest", *RUN_ARGS],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    cpu = 0.0
    for run in runs:
        _, status, usage = os.wait4(run.pid, 0)  # its own and its children's CPU seconds
        run.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        if run.returncode != 0:
            assert run.stderr is not None
            sys.exit(f"digest run failed:\n{run.stderr.read().decode()}")
    return time.perf_counter() - started, cpu


def side(
    port: int, folder: Path, subscribers: int, replicas: int, processes: int | None = None
) -> Side:
    folder.mkdir(parents=True, exist_ok=True)
    with postgres_database() as url:
        if url is None:
            sys.exit("bench/replicas.py needs PostgreSQL on 127.0.0.1:5432")
        service = populate(url, folder, subscribers)
        wall, cpu = run_replicas(url, port, folder, replicas, processes)
        with service.db.session() as session:
            states = Counter(session.scalars(select(Delivery.state)).all())
            per_subscriber = Counter(session.scalars(select(Delivery.subscriber_id)).all())
            shards = Counter(
                done_by.rsplit(":", 1)[-1]
                for done_by in session.scalars(select(PlanShard.done_by)).all()
            )
        service.close()
    return Side(
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 2),
        sent=states.get("sent", 0),
        deliveries=sum(states.values()),
        most_deliveries_per_subscriber=max(per_subscriber.values(), default=0),
        shards_by_replica=sorted(shards.values(), reverse=True),
        recipients=frozenset(per_subscriber),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=3_000)
    args = parser.parse_args()
    count = args.subscribers
    with tempfile.TemporaryDirectory() as tmp, smtp_sink() as port:
        one = side(port, Path(tmp) / "one", count, 1)
        up_front = side(port, Path(tmp) / "up-front", count, 1, 2)
        three = side(port, Path(tmp) / "three", count, 3)
        in_process = side(port, Path(tmp) / "in-process", count, 3, 1)
    sides = {"one": one, "one_up_front": up_front, "three": three, "in_process": in_process}
    # Exactly once: the replicas reach the very subscribers one run reaches (those with a
    # passing paper that day), each once, and every planned delivery is sent.
    exact = all(
        f.recipients == one.recipients
        and f.sent == f.deliveries
        and f.most_deliveries_per_subscriber == 1
        for f in sides.values()
    )
    for name, figures in sides.items():
        print(name, figures.shown(), file=sys.stderr)
    result = {
        "subscribers": count,
        "one_cpu_s": one.cpu_s,
        "three_cpu_s": three.cpu_s,
        "cpu_ratio": round(three.cpu_s / one.cpu_s, 3),
        "in_process_cpu_s": in_process.cpu_s,
        "in_process_cpu_ratio": round(in_process.cpu_s / one.cpu_s, 3),
        "one_wall_s": one.wall_s,
        "three_wall_s": three.wall_s,
        "one_up_front_cpu_s": up_front.cpu_s,
        "one_up_front_wall_s": up_front.wall_s,
        "shards_by_replica": three.shards_by_replica,
        "sent": three.sent,
        "exactly_once": exact,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
