"""The whole day on PostgreSQL: import N subscribers, then one `digest run` that ingests P new
papers, embeds, ranks, renders and sends them all to Postfix's smtp-sink.

Figures, all from one bench run:
- import_s: `digest subscribers import FILE --confirmed` of the N-row CSV (topics drawn as
  bench/rank.py draws them: a Zipf over a few thousand phrases, 1-5 each, some exclusions);
- run_wall_s, run_cpu_s: `digest run --date D --now T` with its sending processes (CPU of the
  run and every child, from os.wait4), ingest of the P-paper arXiv listing included;
  run_peak_mb is the largest single process's peak RSS;
- floor_s: the sum of the floors measured here, in this process: the TF-IDF ranking floor of
  bench/rank.py for the same papers and subscribers (floor_rank_s) plus a bare aiosmtplib pool
  of the same size sending N pre-rendered digest messages (floor_send_s); run_vs_floor is
  run_wall_s over floor_s. The aim is the day (run_wall_s) under 180 s on 2 cores.

Usage: python bench/daily.py [--subscribers 100000] [--papers 2000] [--pool 4]. Needs
PostgreSQL (DIGEST_TEST_POSTGRES, default postgresql+psycopg://postgres@127.0.0.1:5432/test)
and smtp-sink (Debian's postfix). The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from deliver import bare_pool, postgres_database, run_env, settings_for, smtp_sink  # noqa: E402
from rank import floor, make_papers, make_profiles  # noqa: E402
from sqlalchemy import select  # noqa: E402

from digest.models import Paper, Profile  # noqa: E402
from digest.service import Service  # noqa: E402
from digest.store.db import Database  # noqa: E402
from digest.store.schema import Delivery  # noqa: E402

DAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


def arxiv_listing(papers: list[Paper]) -> bytes:
    """The papers as one day's arXiv RSS listing (the format of rss.arxiv.org)."""
    stamp = "Mon, 30 Nov 2026 00:00:00 -0500"
    items = []
    for paper in papers:
        categories = "".join(f"<category>{c}</category>" for c in paper.categories)
        items.append(
            f"<item><title>{html.escape(paper.title)}</title>"
            f"<link>https://arxiv.org/abs/{paper.arxiv_id}</link>"
            f"<description>arXiv:{paper.arxiv_id}v1 Announce Type: new \n"
            f"Abstract: {html.escape(paper.abstract)}</description>"
            f'<guid isPermaLink="false">oai:arXiv.org:{paper.arxiv_id}v1</guid>{categories}'
            f"<pubDate>{stamp}</pubDate><arxiv:announce_type>new</arxiv:announce_type>"
            f"<dc:creator>{html.escape(', '.join(paper.authors))}</dc:creator></item>"
        )
    return (
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs</link>"
        f"<description>cs updates</description><pubDate>{stamp}</pubDate>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def subscribers_csv(profiles: list[Profile]) -> bytes:
    lines = ["email,topics,exclude"]
    for number, profile in enumerate(profiles):
        topics = ";".join(t.text.replace(";", " ").replace(",", " ") for t in profile.topics)
        exclude = ";".join(e.replace(",", " ") for e in profile.exclude)
        lines.append(f"reader{number}@bench.example,{topics},{exclude}")
    return ("\n".join(lines) + "\n").encode()


def digest_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s of it and its children, peak RSS MB of the largest) of `digest ARGS`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"digest {' '.join(args)} failed:\n{out}\n{err}")
    print(out.strip()[-2000:], err.strip()[-2000:], sep="\n", file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def sample_message(url: str, folder: Path) -> bytes:
    """One digest email as the run sent it (its .eml from a preview), for the send floor."""
    path = folder / "sample.eml"
    env = run_env(url, 1, DIGEST_COMPLETE_METADATA="0")
    digest_cli(
        ["preview", "reader0@bench.example", "--date", DAY.isoformat(), "--eml", str(path)],
        env,
        folder,
    )
    return path.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--pool", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(7)
    papers = make_papers(args.papers)
    profiles = make_profiles(args.subscribers, papers, rng)
    result: dict[str, object] = {"subscribers": args.subscribers, "papers": args.papers}
    with (
        tempfile.TemporaryDirectory() as tmp,
        smtp_sink() as port,
        postgres_database() as url,
    ):
        if url is None:
            sys.exit("bench/daily.py needs PostgreSQL on 127.0.0.1:5432")
        folder = Path(tmp)
        Database(url).upgrade()
        listing, people = folder / "cs-listing.xml", folder / "subscribers.csv"
        listing.write_bytes(arxiv_listing(papers))
        people.write_bytes(subscribers_csv(profiles))
        # Loopback only: no completion of metadata from the arXiv API.
        env = run_env(url, port, DIGEST_SMTP_POOL_SIZE=str(args.pool), DIGEST_COMPLETE_METADATA="0")
        digest_cli(["sources", "add", str(listing), "--name", "arxiv-cs"], env, folder)
        wall, cpu, _ = digest_cli(
            ["subscribers", "import", str(people), "--confirmed"], env, folder
        )
        result["import_s"] = round(wall, 1)
        result["import_rows_s"] = round(args.subscribers / wall)
        wall, cpu, peak = digest_cli(
            ["run", "--date", DAY.isoformat(), "--now", NOW.isoformat()], env, folder
        )
        result.update(run_wall_s=round(wall, 1), run_cpu_s=round(cpu, 1), run_peak_mb=round(peak))
        service = Service.open(settings_for(url, folder, None))
        with service.db.session() as session:
            states = Counter(session.scalars(select(Delivery.state)).all())
            once = Counter(session.scalars(select(Delivery.subscriber_id)).all())
        service.close()
        result["deliveries"] = dict(states)
        result["most_deliveries_per_subscriber"] = max(once.values(), default=0)
        sample = sample_message(url, folder)
        rank_floor = floor(papers, profiles)
        sent = states.get("sent", 0) or args.subscribers
        messages = [(f"reader{n}@bench.example", sample) for n in range(sent)]
        send_floor = asyncio.run(bare_pool(port, messages, args.pool))
    floor_s = rank_floor + send_floor
    result.update(
        floor_rank_s=round(rank_floor, 1),
        floor_send_s=round(send_floor, 1),
        floor_s=round(floor_s, 1),
        run_vs_floor=round(float(result["run_wall_s"]) / floor_s, 2),  # type: ignore[arg-type]
        aim_s=180,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
