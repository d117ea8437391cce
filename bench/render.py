"""Per-message render + build on the send loop's path, beside a baseline tree in the same run.

Digests are those of bench/daily.py's day: bench/rank.py's papers (--papers) and Zipf topic
profiles (--subscribers), ranked lexically by :func:`digest.rank.digests_many`. Each message is
``compose_digest`` with one run's ``DigestRenders``, exactly as the send loop composes a claimed
row (tokens, render, MIME parts, headers; no DKIM key). Figures:

- render_us: µs per message, the median of --rounds passes over every digest, each with a
  fresh renderer and ``DigestRenders`` as a sending process has them, after a first pass has
  made the papers' facts (their excerpts and readable LaTeX, cached per process);
- first_pass_us: the first pass, which also makes those facts;
- messages_sha256: of every message's bytes with the token clock fixed, so two trees that
  send the same bytes print the same value; shown_sha256: of what a mail client shows, each
  message's decoded text part, and its decoded HTML part with runs of white space made one
  space (HTML shows them alike);
- with --baseline DIR (a checkout of the code to compare, e.g.
  ``git archive main | tar -x -C /tmp/base``): the same figures for DIR as baseline_*, measured
  in turns with this tree (ABAB, medians), speedup (baseline_render_us / render_us) and
  identical (the two trees' messages_sha256 agree) and shown_identical (their shown_sha256).

Usage: python bench/render.py [--subscribers 3000] [--papers 2000] [--rounds 5]
[--baseline DIR]. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DAY = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
TOKEN_CLOCK = 1_790_000_000.0


def bench_digests(subscribers: int, papers_count: int) -> list[Any]:
    """The day's digests: bench/rank.py's papers and profiles, ranked lexically."""
    from rank import make_papers, make_profiles

    from digest.models import Digest, Subscriber
    from digest.pipeline.digests import themes_of
    from digest.rank import build_index, digests_many

    papers = [  # with the links and date that ingest gives an arXiv listing's papers
        dataclasses.replace(
            paper,
            url=f"https://arxiv.org/abs/{paper.arxiv_id}",
            pdf_url=f"https://arxiv.org/pdf/{paper.arxiv_id}",
            published=NOW - dt.timedelta(hours=6),
        )
        for paper in make_papers(papers_count)
    ]
    profiles = make_profiles(subscribers, papers, random.Random(7))
    digests = []
    ranked = digests_many(profiles, build_index(papers), {}, now=NOW)
    for number, (shown, overflow) in enumerate(ranked):
        email = f"reader{number}@bench.example"
        reader = Subscriber(number + 1, email, "confirmed", profiles[number])
        digests.append(Digest(reader, DAY, tuple(shown), tuple(overflow), themes_of(shown)))
    return digests


def measure(subscribers: int, papers_count: int, rounds: int) -> dict[str, Any]:
    """This interpreter's figures for the code ``digest`` imports from."""
    sys.path.insert(0, str(HERE))
    import digest.tokens
    from digest.render.compose import (
        Composer,
        DigestRenders,
        MessageSettings,
        compose_digest,
        digest_message_id,
    )
    from digest.render.renderer import EmailRenderer

    class FixedClock:  # tokens carry their minting time: fixed, so the bytes can be compared
        @staticmethod
        def time() -> float:
            return TOKEN_CLOCK

    digest.tokens.time = FixedClock  # type: ignore[assignment]
    digests = bench_digests(subscribers, papers_count)
    sender, site = "Papers <papers@bench.example>", "https://bench.example"
    links = digest.tokens.LinkBuilder(digest.tokens.Signer("bench-secret"), site, sender)

    def one_pass(check: Any = None) -> float:
        """A pass as one sending process makes it: its own renderer and renderings."""
        renderer = EmailRenderer(list_name="Papers", postal_address="1 Bench Road", base_url=site)
        composer = Composer(MessageSettings(sender, "bench.example", "Papers"), links, renderer)
        renders = DigestRenders(composer)
        start = time.perf_counter()
        for each in digests:
            _, message = compose_digest(
                composer,
                each,
                message_id=digest_message_id("bench.example", each.subscriber.id, DAY),
                now=NOW,
                nothing_matched=not each.picks,
                renders=renders,
            )
            if check is not None:
                check.update(message.data)
        return (time.perf_counter() - start) / len(digests) * 1e6

    first = one_pass()
    steady = [one_pass() for _ in range(rounds)]
    check = Check()
    one_pass(check)
    return {
        "render_us": round(statistics.median(steady), 1),
        "first_pass_us": round(first, 1),
        "messages_sha256": check.sent.hexdigest()[:16],
        "shown_sha256": check.shown.hexdigest()[:16],
    }


class Check:
    """Hashes of the messages' bytes and of what a mail client shows of them."""

    def __init__(self) -> None:
        self.sent, self.shown = hashlib.sha256(), hashlib.sha256()

    def update(self, data: bytes) -> None:
        from digest.render.mime import parts_of

        self.sent.update(data)
        text, html = parts_of(data)
        self.shown.update(text.encode() + b"\0" + re.sub(r"\s+", " ", html).encode() + b"\0")


def measured_in(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The figures of a fresh interpreter importing ``digest`` from ``tree``."""
    command = [sys.executable, __file__, "--subscribers", str(args.subscribers)]
    command += ["--papers", str(args.papers), "--rounds", str(args.rounds), "--tree", str(tree)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)  # set by measured_in
    args = parser.parse_args()
    if args.tree is not None:
        print(json.dumps(measure(args.subscribers, args.papers, args.rounds)))
        return
    own, base = [], []
    for _ in range(2 if args.baseline else 1):  # in turns: the machine's speed drifts
        own.append(measured_in(HERE.parent, args))
        if args.baseline:
            base.append(measured_in(args.baseline.resolve(), args))
    result: dict[str, Any] = {"subscribers": args.subscribers, "papers": args.papers}
    for name in ("render_us", "first_pass_us"):
        result[name] = round(statistics.median(r[name] for r in own), 1)
    result["messages_sha256"] = own[0]["messages_sha256"]
    result["shown_sha256"] = own[0]["shown_sha256"]
    if base:
        for name in ("render_us", "first_pass_us"):
            result[f"baseline_{name}"] = round(statistics.median(r[name] for r in base), 1)
        result["speedup"] = round(result["baseline_render_us"] / result["render_us"], 2)
        for name, hashed in (("identical", "messages_sha256"), ("shown_identical", "shown_sha256")):
            result[name] = len({r[hashed] for r in own + base}) == 1
    print(json.dumps(result))


if __name__ == "__main__":
    main()
