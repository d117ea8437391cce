"""Three `digest run` replicas on one PostgreSQL against one run: CPU seconds, exactly once.

Each side gets a fresh database with the bundled sample papers and N confirmed subscribers
(default 3,000), and sends to Postfix's smtp-sink. The figure is `cpu_ratio`: the CPU seconds
of the three replicas together over those of one run (with its default sending processes),
measured in the same bench run; the aim is at most 1.4. The replicas share one machine, so
each sends in-process (DIGEST_DELIVERY_PROCESSES=1, as deploy/README.md advises there);
`spawning_cpu_ratio` is the same three with the default, two sending processes each.
`shards_by_replica` says how the planning shards were shared. Prints one JSON object on its
last line.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deliver import DAY, NOW, populate, postgres_database, smtp_sink  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from digest.store.schema import Delivery, PlanShard  # noqa: E402


def digest_command() -> list[str]:
    return [sys.executable, "-m", "digest"]


def run_replicas(
    database_url: str, port: int, folder: Path, count: int, processes: int | None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) of ``count`` runs started together."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=database_url,
        DIGEST_SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=30",
        DIGEST_SECRET_KEY="bench-secret",
        DIGEST_BASE_URL="https://bench.example",
        DIGEST_FROM="Papers <papers@bench.example>",
    )
    if processes:
        env["DIGEST_DELIVERY_PROCESSES"] = str(processes)
    args = ["run", "--date", DAY.isoformat(), "--no-ingest", "--now", NOW.isoformat()]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [*digest_command(), *args],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    cpu = 0.0
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        if process.returncode != 0:
            assert process.stderr is not None
            sys.exit(f"digest run failed:\n{process.stderr.read().decode()}")
    return time.perf_counter() - started, cpu


def side(
    port: int, folder: Path, subscribers: int, replicas: int, processes: int | None = None
) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    with postgres_database() as url:
        if url is None:
            sys.exit("bench/replicas.py needs PostgreSQL on 127.0.0.1:5432")
        service = populate(url, folder, subscribers)
        wall, cpu = run_replicas(url, port, folder, replicas, processes)
        with service.db.session() as session:
            states = Counter(session.scalars(select(Delivery.state)).all())
            recipients = set(session.scalars(select(Delivery.subscriber_id)).all())
            per_subscriber = session.execute(
                select(func.count()).select_from(Delivery).group_by(Delivery.subscriber_id)
            ).scalars()
            most = max(per_subscriber, default=0)
            shards = Counter(
                done_by.rsplit(":", 1)[-1]
                for done_by in session.scalars(select(PlanShard.done_by)).all()
            )
        service.close()
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "sent": states.get("sent", 0),
        "deliveries": sum(states.values()),
        "recipients": recipients,
        "most_deliveries_per_subscriber": most,
        "shards_by_replica": sorted(shards.values(), reverse=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, smtp_sink() as port:
        one = side(port, Path(tmp) / "one", args.subscribers, 1)
        three = side(port, Path(tmp) / "three", args.subscribers, 3, 1)
        spawning = side(port, Path(tmp) / "spawning", args.subscribers, 3)
    # Exactly once: the replicas reach the very subscribers one run reaches (those with a
    # passing paper that day), each once, and every planned delivery is sent.
    exact = (
        one["recipients"] == three["recipients"]
        and all(
            f["sent"] == f["deliveries"] and f["most_deliveries_per_subscriber"] == 1
            for f in (one, three, spawning)
        )
        and one["recipients"] == spawning["recipients"]
    )
    for name, figures in (("one", one), ("three", three), ("spawning", spawning)):
        shown = {k: v for k, v in figures.items() if k != "recipients"}
        print(name, shown, file=sys.stderr)
    result = {
        "subscribers": args.subscribers,
        "one_cpu_s": one["cpu_s"],
        "three_cpu_s": three["cpu_s"],
        "cpu_ratio": round(float(three["cpu_s"]) / float(one["cpu_s"]), 3),  # type: ignore[arg-type]
        "spawning_cpu_s": spawning["cpu_s"],
        "spawning_cpu_ratio": round(
            float(spawning["cpu_s"]) / float(one["cpu_s"]),  # type: ignore[arg-type]
            3,
        ),
        "one_wall_s": one["wall_s"],
        "three_wall_s": three["wall_s"],
        "shards_by_replica": three["shards_by_replica"],
        "sent": three["sent"],
        "exactly_once": exact,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
