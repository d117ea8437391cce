"""Every topic served, on the sample feeds: each topic with a passing paper gets a pick, no
topic takes more than its share of the slots, and no section of the email is empty."""

from __future__ import annotations

import re
from collections import Counter

from digest import pipeline
from digest.models import Digest, Links, RenderedEmail
from digest.render.views import group_picks
from digest.service import Service
from digest.store import subscribers
from tests.integration.test_pipeline import DAY, NOW, add_subscriber, ingest_samples

# On these samples "agents" alone is strong enough to take 7 of 8 slots by score.
FOUR_TOPICS = ("reinforcement learning", "language models", "agents", "diffusion")


def _previewed(service: Service) -> tuple[Digest, RenderedEmail]:
    ingest_samples(service)
    add_subscriber(service, "four@example.com", *FOUR_TOPICS)
    with service.db.session() as session:
        subscribers.upsert_subscriber(
            session, "four@example.com", now=NOW, profile_changes={"per_digest": 8}
        )
    return pipeline.preview(service, "four@example.com", DAY, now=NOW)


def test_four_equal_topics_in_eight_slots_each_get_a_pick(service: Service) -> None:
    digest, _ = _previewed(service)
    served = Counter(pick.topic for pick in digest.picks)
    assert len(digest.picks) == 8
    assert set(served) == set(FOUR_TOPICS)
    assert max(served.values()) <= 4  # 40% of eight slots, rounded up


def test_no_section_of_the_email_is_without_a_paper(service: Service) -> None:
    digest, rendered = _previewed(service)
    assert digest.overflow  # there are papers left over, on several topics
    urls = [pick.paper.url for pick in digest.picks]
    html_sections = re.split(r'<h2 class="topic"[^>]*>', rendered.html)[1:]
    assert len(html_sections) == 4
    assert all(any(f'href="{url}"' in section for url in urls) for section in html_sections)
    text_sections = re.split(r"^== .+ ==$", rendered.text, flags=re.M)[1:]
    assert len(text_sections) == 4
    assert all(re.search(r"^\d+\. ", s, flags=re.M) for s in text_sections)
    groups = group_picks(
        digest, Links(manage="", unsubscribe="", unsubscribe_mailto="", archive="")
    )
    assert [g.topic for g in groups] and all(g.papers for g in groups)
