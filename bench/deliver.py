"""Delivery throughput against Postfix's C `smtp-sink`, beside baselines measured in the same run.

- ceiling_msgs_s: a bare aiosmtplib pool (same size as digest's) in one process sending N
  pre-rendered messages to smtp-sink, measured just before and just after each timed run (the
  machine's speed drifts; ceiling_spread is the largest over the smallest measurement);
- sqlite_ratio / postgres_ratio: `digest run --no-ingest` for N subscribers (rank + render +
  record + send, in a subprocess with its sending processes) in messages/s, divided by the mean
  of the two ceilings around it (target >= 0.6). Subscribers have 1-3 of 15 topics, popular
  ones far more often, some weighted or with an exclusion;
- transport_ratio: digest's SmtpPool alone (the same size, its own SMTP session: pipelined
  commands, replies read by a bare protocol) sending the same N messages, in messages/s over
  the ceilings measured around it; transport_msgs_s is its rate;
- peak_mb: peak RSS at N subscribers of the run plus its sending processes (the largest one
  counted once per process) (target < 500); peak_mb_quarter at N/4 shows whether it grows;
- email_build_vs_stdlib: one whole email (render + MIME bytes) built by digest.render.mime against
  the same render + stdlib EmailMessage (digest.render.mime_stdlib) (target >= 4);
- part_template_vs_whole: a digest's text and HTML parts for one more subscriber, encoded by
  mime.PartTemplate (only the lines holding a link token) against encoding both filled parts
  whole (part_template_us, part_whole_us: microseconds per message).

Usage: python bench/deliver.py [--subscribers 20000] [--pool 4]. smtp-sink comes from the Debian
package postfix (only the binary; no mail daemon). PostgreSQL from DIGEST_TEST_POSTGRES (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); without it postgres_ratio is null.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_memory import run_measured  # noqa: E402

from digest import pipeline  # noqa: E402
from digest.config import Settings, SmtpTarget  # noqa: E402
from digest.deliver import send_processes  # noqa: E402
from digest.deliver.transport import SmtpPool  # noqa: E402
from digest.models import Digest, OutgoingMessage, Pick, Topic  # noqa: E402
from digest.render.compose import compose_digest  # noqa: E402
from digest.render.mime import PartTemplate, _normalise_body, _part, build_message  # noqa: E402
from digest.render.mime_stdlib import build_message_stdlib  # noqa: E402
from digest.resources import samples_dir  # noqa: E402
from digest.service import Service  # noqa: E402
from digest.store import papers, subscribers  # noqa: E402
from digest.store.db import Database  # noqa: E402
from digest.tokens import LinkTokens  # noqa: E402

POSTGRES_ADMIN = os.environ.get(
    "DIGEST_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = dt.datetime(2026, 5, 1, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 30)
TOPICS = ("LLM agents", "reinforcement learning", "diffusion models", "retrieval", "robotics")
MORE_TOPICS = (
    "reward models",
    "vision-language models",
    "code generation",
    "graph neural networks",
    "speech recognition",
    "protein structure",
    "federated learning",
    "quantization",
    "mixture of experts",
    "medical imaging",
)
EXCLUSIONS = ("survey", "benchmark", "medical imaging")


def profile_changes(number: int) -> dict[str, object]:
    """A subscriber's preferences: 1-3 topics, popular ones far more often (Zipf), sometimes
    weighted or with an exclusion, so the run sees hundreds of distinct profiles."""
    rng = random.Random(number)
    vocabulary = TOPICS + MORE_TOPICS
    popularity = [1 / (rank + 1) for rank in range(len(vocabulary))]
    chosen: list[str] = []
    for _ in range(rng.choices((1, 2, 3), (0.3, 0.45, 0.25))[0]):
        topic = rng.choices(vocabulary, popularity)[0]
        if topic not in chosen:
            chosen.append(topic)
    weight = 2.0 if rng.random() < 0.2 else 1.0
    topics = tuple(Topic(t, weight if i == 0 else 1.0) for i, t in enumerate(chosen))
    exclude = (rng.choice(EXCLUSIONS),) if rng.random() < 0.15 else ()
    return {"topics": topics, "exclude": tuple(e for e in exclude if e not in chosen)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not Path(binary).exists():
        sys.exit("smtp-sink not found: apt-get install -y postfix (only the binary is used)")
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = subprocess.Popen(
        [binary, *user, f"127.0.0.1:{port}", "1024"], stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


async def bare_pool(port: int, messages: list[tuple[str, bytes]], size: int) -> float:
    """Seconds for ``size`` reused aiosmtplib connections to send every message."""
    queue = list(reversed(messages))

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        sent = 0
        while queue:
            rcpt, data = queue.pop()
            await smtp.sendmail("papers@bench.example", [rcpt], data)
            sent += 1
            if sent % 100 == 0:  # digest's messages_per_connection
                await smtp.quit()
                smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
                await smtp.connect()
        await smtp.quit()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(size)))
    return time.perf_counter() - start


async def digest_pool(port: int, messages: list[tuple[str, bytes]], size: int) -> float:
    """Seconds for digest's own SmtpPool of ``size`` connections to send every message."""
    outgoing = [
        OutgoingMessage("papers@bench.example", rcpt, f"<bench.{n}@bench.example>", data)
        for n, (rcpt, data) in enumerate(messages)
    ]
    start = time.perf_counter()
    async with SmtpPool(SmtpTarget(f"smtp://127.0.0.1:{port}?timeout=30"), size=size) as pool:
        await pool.send_many(outgoing)
    return time.perf_counter() - start


def ceiling(port: int, messages: list[tuple[str, bytes]], size: int) -> float:
    """The bare aiosmtplib pool's rate in messages/s, which every ratio is divided by."""
    return len(messages) / asyncio.run(bare_pool(port, messages, size))


def transport_figures(
    port: int, messages: list[tuple[str, bytes]], size: int, ceilings: list[float]
) -> dict[str, float]:
    """digest's pool alone, against the ceilings measured just before and after it (added to
    ``ceilings``)."""
    before = ceiling(port, messages, size)
    rate = len(messages) / asyncio.run(digest_pool(port, messages, size))
    after = ceiling(port, messages, size)
    ceilings += [before, after]
    return {
        "transport_msgs_s": round(rate, 1),
        "transport_ratio": round(rate / ((before + after) / 2), 3),
    }


def settings_for(database_url: str, folder: Path, port: int | None) -> Settings:
    values: dict[str, object] = dict(
        database_url=database_url,
        outbox_dir=folder / "outbox",
        base_url="https://bench.example",
        secret_key="bench-secret",
        DIGEST_FROM="Papers <papers@bench.example>",
    )
    if port:
        values["smtp_url"] = f"smtp://127.0.0.1:{port}?timeout=30"
    return Settings(**values)  # type: ignore[arg-type]


def populate(database_url: str, folder: Path, count: int) -> Service:
    """Schema, the bundled sample papers, and ``count`` confirmed subscribers."""
    Database(database_url).upgrade()
    service = Service.open(settings_for(database_url, folder, None))
    pipeline.ingest_files(service, sorted(samples_dir().iterdir()), now=NOW)
    with service.db.session() as session:
        for number in range(count):
            subscribers.upsert_subscriber(
                session,
                f"reader{number}@bench.example",
                now=NOW,
                state="confirmed",
                profile_changes=profile_changes(number),
            )
    return service


def sample_digest(service: Service) -> Digest:
    with service.db.session() as session:
        subscriber = subscribers.to_subscriber(
            subscribers.get_row(session, "reader0@bench.example")
        )
        window = papers.papers_in_window(session, DAY, 30)[:10]
    picks = tuple(
        Pick(
            paper=paper,
            score=1.0 - i / 20,
            relevance=1.0 - i / 20,
            trending=0.0,
            topic=TOPICS[i % 3],
            reasons=(f"matches {TOPICS[i % 3]}",),
        )
        for i, paper in enumerate(window)
    )
    return Digest(subscriber=subscriber, date=DAY, picks=picks, themes=TOPICS[:3])


def build_ratio(service: Service, digest: Digest, rounds: int = 300) -> tuple[float, float, bytes]:
    """(ms per email with digest.render.mime, ms with stdlib EmailMessage, one message's bytes)."""
    links = service.links.for_subscriber(digest.subscriber, DAY, [p.paper.id for p in digest.picks])
    arguments = dict(
        sender="Papers <papers@bench.example>",
        recipient=digest.subscriber.email,
        message_id="<digest.x@bench.example>",
        date=NOW,
        list_id="Papers <digest.bench.example>",
        unsubscribe_url=links.unsubscribe,
        unsubscribe_mailto=links.unsubscribe_mailto,
        feedback_id="2026-04-30:1:digest:bench.example",
    )
    timings = []
    for builder in (build_message, build_message_stdlib, build_message, build_message_stdlib):
        start = time.perf_counter()
        for _ in range(rounds):
            rendered = service.renderer.render_digest(digest, links)
            builder(rendered, **arguments)  # type: ignore[arg-type]
        timings.append((time.perf_counter() - start) / rounds * 1000)
    _, message = compose_digest(service.composer, digest, message_id="<d.x@bench.example>", now=NOW)
    return min(timings[0], timings[2]), min(timings[1], timings[3]), message.data


def part_encoding(service: Service, digest: Digest, rounds: int = 2000) -> dict[str, float]:
    """µs per message encoding both parts with PartTemplate, and encoding them whole.

    The parts are split at placeholder tokens as DigestRenders splits them; each round fills
    in the real tokens of one of 50 subscribers. Both sides get the same filled text.
    """
    purposes = tuple(LinkTokens.__dataclass_fields__)
    placeholders = LinkTokens(*(f"benchslot{purpose}" for purpose in purposes))
    paper_ids = tuple(pick.paper.id for pick in digest.picks)
    rendered = service.renderer.render_digest(
        digest, service.links.links_from(placeholders, DAY, paper_ids)
    )
    split = re.compile(f"benchslot({'|'.join(purposes)})")
    pieces = {"plain": split.split(rendered.text), "html": split.split(rendered.html)}
    templates = {subtype: PartTemplate(subtype, parts) for subtype, parts in pieces.items()}
    readers = [
        replace(digest.subscriber, id=1000 + n, email=f"reader{n}@bench.example") for n in range(50)
    ]
    cases = []
    for reader in readers:
        tokens = service.links.tokens_for(reader)
        slots = {purpose: getattr(tokens, purpose) for purpose in purposes}
        filled = {
            subtype: "".join(slots[p] if i % 2 else p for i, p in enumerate(parts))
            for subtype, parts in pieces.items()
        }
        assert all(
            templates[k].encode(slots) == _part(k, _normalise_body(filled[k])) for k in filled
        )
        cases.append((slots, filled))
    timings: dict[bool, list[float]] = {True: [], False: []}
    for use_template in (True, False) * 5:  # alternated, best of five: the machine is shared
        start = time.perf_counter()
        for round_ in range(rounds):
            slots, filled = cases[round_ % len(cases)]
            for subtype, template in templates.items():
                if use_template:
                    template.encode(slots)
                else:
                    _part(subtype, _normalise_body(filled[subtype]))
        timings[use_template].append((time.perf_counter() - start) / rounds * 1e6)
    template_us, whole_us = min(timings[True]), min(timings[False])
    return {
        "part_template_us": round(template_us, 1),
        "part_whole_us": round(whole_us, 1),
        "part_template_vs_whole": round(whole_us / template_us, 2),
    }


RUN_ARGS = ("run", "--date", DAY.isoformat(), "--no-ingest", "--now", NOW.isoformat())


def run_env(database_url: str, port: int, **settings: str) -> dict[str, str]:
    """The environment of a benched `digest run`: only these DIGEST_ settings, sending to
    the sink on ``port``; ``settings`` adds more (``DIGEST_SMTP_POOL_SIZE="8"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DATABASE_URL=database_url,
        DIGEST_SMTP_URL=f"smtp://127.0.0.1:{port}?timeout=30",
        DIGEST_SECRET_KEY="bench-secret",
        DIGEST_BASE_URL="https://bench.example",
        DIGEST_FROM="Papers <papers@bench.example>",
        **settings,
    )
    return env


def timed_run(
    database_url: str, folder: Path, port: int, pool: int, subscribers: int
) -> tuple[float, float]:
    """(seconds, peak RSS MB of the run and its sending processes) of `digest run --no-ingest`."""
    env = run_env(database_url, port, DIGEST_SMTP_POOL_SIZE=str(pool))
    run = run_measured(RUN_ARGS, env=env, cwd=folder)
    if run.returncode != 0:
        sys.exit(f"digest run failed:\n{run.stdout}\n{run.stderr}")
    print(run.stdout.strip(), file=sys.stderr)
    # The run and its sending processes together: the largest child counted once per process.
    processes = send_processes.process_count(Settings(delivery_processes=0), subscribers)
    children = run.child_peak_mb * (processes if processes > 1 else 0)
    return run.seconds, run.peak_mb + children


@contextlib.contextmanager
def postgres_database() -> Iterator[str | None]:
    try:
        import psycopg

        admin = POSTGRES_ADMIN.replace("+psycopg", "")
        name = f"digest_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL figure
        print(f"no PostgreSQL ({type(exc).__name__}): postgres_ratio is null", file=sys.stderr)
        yield None
        return
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--pool", type=int, default=4)
    args = parser.parse_args()
    count = args.subscribers
    result: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp, smtp_sink() as port:
        folder = Path(tmp)
        quarter_url = f"sqlite:///{folder / 'quarter.db'}"
        service = populate(quarter_url, folder, max(count // 4, 1))
        fast_ms, stdlib_ms, sample = build_ratio(service, sample_digest(service))
        result["email_build_ms"] = round(fast_ms, 3)
        result["email_build_stdlib_ms"] = round(stdlib_ms, 3)
        result["email_build_vs_stdlib"] = round(stdlib_ms / fast_ms, 2)
        result.update(part_encoding(service, sample_digest(service)))
        messages = [(f"reader{n}@bench.example", sample) for n in range(count)]
        result["message_kb"] = round(len(sample) / 1024, 1)
        ceilings: list[float] = []
        result.update(transport_figures(port, messages, args.pool, ceilings))
        _, quarter_peak = timed_run(quarter_url, folder, port, args.pool, max(count // 4, 1))
        sqlite_url = f"sqlite:///{folder / 'full.db'}"
        populate(sqlite_url, folder, count)
        # The machine's speed drifts over minutes: each run is compared with the ceiling
        # measured just before and just after it.
        before = ceiling(port, messages, args.pool)
        seconds, peak = timed_run(sqlite_url, folder, port, args.pool, count)
        after = ceiling(port, messages, args.pool)
        ceilings += [before, after]
        result["sqlite_msgs_s"] = round(count / seconds, 1)
        result["sqlite_ratio"] = round(count / seconds / ((before + after) / 2), 3)
        result["peak_mb"] = round(peak, 1)
        result["peak_mb_quarter"] = round(quarter_peak, 1)
        with postgres_database() as postgres_url:
            if postgres_url is None:
                result["postgres_ratio"] = None
            else:
                populate(postgres_url, folder, count)
                before = ceiling(port, messages, args.pool)
                seconds, peak = timed_run(postgres_url, folder, port, args.pool, count)
                after = ceiling(port, messages, args.pool)
                ceilings += [before, after]
                result["postgres_msgs_s"] = round(count / seconds, 1)
                result["postgres_ratio"] = round(count / seconds / ((before + after) / 2), 3)
                result["peak_mb"] = round(max(peak, result["peak_mb"] or 0), 1)
        result["ceiling_msgs_s"] = round(sum(ceilings) / len(ceilings), 1)
        result["ceiling_spread"] = round(max(ceilings) / min(ceilings), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
