"""The one wording of why a paper is trending, for the email, the site and the ranker's reasons.

'Trending: 123 upvotes on Hugging Face · 2 mentions (Hacker News 45 points)'. Each site's
votes keep their own name: Hacker News and Lobsters count points, Hugging Face and Reddit
upvotes. Pure; knows sites by the host of the mention's URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from digest.models import TrendSignal

HUGGING_FACE = "Hugging Face"
PREFIX = "Trending: "
_SITES: dict[str, tuple[str, str]] = {  # host → (site, what its votes are called)
    "huggingface.co": (HUGGING_FACE, "upvote"),
    "news.ycombinator.com": ("Hacker News", "point"),
    "hnrss.org": ("Hacker News", "point"),
    "reddit.com": ("Reddit", "upvote"),
    "lobste.rs": ("Lobsters", "point"),
}


def site_of(url: str | None) -> tuple[str, str]:
    """(site name, vote unit) of a mention's URL; an unknown site is named by its host."""
    host = (urlsplit(url or "").hostname or "").lower().removeprefix("www.")
    for known, site in _SITES.items():
        if host == known or host.endswith("." + known):
            return site
    return host or "another site", "vote"


def _count(number: float, unit: str) -> str:
    whole = int(number)
    return f"{whole} {unit}{'' if whole == 1 else 's'}"


def trend_phrase(signal: TrendSignal | None) -> str:
    """'123 upvotes on Hugging Face · 2 mentions (Hacker News 45 points)', or '' if none."""
    if signal is None:
        return ""
    parts = []
    hf_votes = 0.0
    others: list[str] = []
    for url, weight in signal.mention_sites:
        site, unit = site_of(url)
        if site == HUGGING_FACE:
            hf_votes += weight
        else:
            others.append(f"{site} {_count(weight, unit)}" if weight >= 1 else site)
    if hf_votes >= 1:
        parts.append(f"{_count(hf_votes, 'upvote')} on {HUGGING_FACE}")
    if others:
        parts.append(f"{_count(len(others), 'mention')} ({', '.join(others)})")
    if not signal.mention_sites and signal.upvotes >= 1:  # a signal without its sites
        parts.append(_count(signal.upvotes, "vote"))
    if not parts and signal.sources >= 2:
        parts.append(f"in {signal.sources} sources")
    return " · ".join(parts)


def trend_words(signal: TrendSignal | None) -> str:
    """The phrase with 'Trending: ' before it, as a reason beside others; '' if none."""
    phrase = trend_phrase(signal)
    return PREFIX + phrase if phrase else ""
