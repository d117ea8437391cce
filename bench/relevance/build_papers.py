"""Rebuild papers.json from the feed samples the repository carries (run once; kept for provenance).

Every entry with a real abstract (at least 200 characters) from digest/samples/ and
tests/fixtures/ (minus hostile and social feeds), read through the project's own parser, one
per arXiv id / DOI / title. The judgments in judgments.json refer to these ids.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib

from digest.errors import DigestError
from digest.ingest.parse import parse_feed

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(__file__).with_name("papers.json")


def main() -> None:
    now = dt.datetime(2026, 8, 6, tzinfo=dt.UTC)
    files = sorted((ROOT / "digest" / "samples").iterdir()) + sorted(
        p
        for p in (ROOT / "tests" / "fixtures").rglob("*")
        if p.is_file() and p.parent.name not in ("hostile", "social", "pubmed")
    )
    papers: dict[str, dict[str, object]] = {}
    for path in files:
        try:
            parsed = parse_feed(path.read_bytes(), source_url=str(path), now=now)
        except DigestError:
            continue
        for item in parsed.items:
            if len(item.abstract) < 200:
                continue
            key = item.arxiv_id or item.doi or "title:" + item.title.lower()
            papers.setdefault(
                key,
                {
                    "id": key,
                    "title": item.title,
                    "abstract": item.abstract,
                    "authors": list(item.authors),
                    "categories": list(item.categories),
                },
            )
    OUT.write_text(json.dumps(list(papers.values()), indent=1, ensure_ascii=False) + "\n")
    print(len(papers))


if __name__ == "__main__":
    main()
