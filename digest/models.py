"""Frozen dataclasses that cross module borders.

Ingest produces :class:`FeedItem`; the store turns them into :class:`Paper`; the ranker turns a
:class:`Profile` and papers into :class:`Pick`; the renderer turns a :class:`Digest` into an email.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

SUBSCRIBER_STATES = ("unconfirmed", "confirmed", "unsubscribed", "suspended")
DELIVERY_STATES = ("pending", "sending", "sent", "failed", "deferred", "ambiguous", "skipped")


@dataclass(frozen=True)
class FeedItem:
    """One paper as one feed described it: a listing of the paper itself or a mention of it.

    Identity fields (``arxiv_id`` without version, normalised ``doi``) come from
    :mod:`digest.ingest.ids`; text fields are already sanitised and capped.
    """

    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    arxiv_id: str | None = None
    version: int | None = None
    doi: str | None = None
    url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    announce_type: str | None = None  # arXiv listings: new, cross, replace, replace-cross
    is_mention: bool = False  # True when the feed only points at the paper (HN, Reddit, HF)
    weight: float = 0.0  # upvotes or points where the feed has them
    mention_url: str | None = None  # the discussion page for a mention


@dataclass(frozen=True)
class DroppedItem:
    """An entry a parser could not use, kept so the run can say what was lost and why."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    """The sound part of one feed document plus what was dropped from it."""

    kind: str  # parser flavour that read it: arxiv-rss, arxiv-api, hf-daily, biorxiv, rss, ...
    items: tuple[FeedItem, ...]
    title: str | None = None
    dropped: tuple[DroppedItem, ...] = ()
    warning: str | None = None  # e.g. feedparser's bozo message for a feed that was still read
    empty_announcement: bool = False  # arXiv's weekend/holiday feed: nothing announced today


@dataclass(frozen=True)
class Paper:
    """A stored paper: one row however many feeds, versions or mentions it arrived through."""

    id: int
    key: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    version: int = 1
    published: dt.datetime | None = None
    first_seen: dt.datetime | None = None
    sources: tuple[str, ...] = ()
    tldr: str | None = None  # the cached one-line TL;DR, when DIGEST_TLDR_URL made one
    revision: str | None = None  # what the newest version changed ("abstract revised")


@dataclass(frozen=True)
class TrendSignal:
    """How much attention a paper gets: the ranker's trending input for one paper."""

    sources: int = 0  # distinct sources that listed or mentioned it
    mentions: int = 0  # mentions by trending feeds (HN, Reddit, HF daily ...)
    upvotes: float = 0.0
    cross_listed: bool = False
    # (URL, weight) of each mention, so the words name the site and its votes (HN points)
    mention_sites: tuple[tuple[str | None, float], ...] = ()


@dataclass(frozen=True)
class Topic:
    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class LearntTaste:
    """What a reader's "more" / "less" clicks taught: a linear model on paper embeddings.

    It lives beside the reader's own words (topics and weights stay as typed) and is ignored
    when the embedding model it was trained for is no longer the one in use.
    """

    model: str  # the embedding model (Embedder.name) the weights apply to
    ratings: int  # how many papers the reader rated: the model's share grows with it
    weights: tuple[float, ...]
    bias: float = 0.0


@dataclass(frozen=True)
class Profile:
    """A subscriber's topic preferences: the one model used by the CLI, the web and the email."""

    topics: tuple[Topic, ...] = ()
    exclude: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    per_digest: int = 10
    min_score: float = 0.0
    trending: float = 0.2  # 0: only my topics, 1: what everyone is reading
    quiet_days: str = "skip"  # "send" a short note when nothing matched, or "skip"
    learnt: LearntTaste | None = None  # trained from feedback (digest.rank.clicks), not typed


@dataclass(frozen=True)
class Pick:
    """One paper chosen for one subscriber, with the score and the reasons that earned it."""

    paper: Paper
    score: float
    relevance: float
    trending: float
    topic: str | None = None  # the subscriber topic it matched best (for grouping)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    state: str
    profile: Profile = field(default_factory=Profile)
    timezone: str = "UTC"
    send_hour: int = 7
    frequency: str = "daily"
    weekday: int = 0  # 0 = Monday, for weekly subscribers
    created_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None


@dataclass(frozen=True)
class Digest:
    """What one email holds: the picks for one subscriber on one date, best first."""

    subscriber: Subscriber
    date: dt.date
    picks: tuple[Pick, ...]
    overflow: tuple[tuple[str, int], ...] = ()  # (topic, papers left out) for "+N more"
    themes: tuple[str, ...] = ()  # topics that matched most, for the subject and header
    updates: tuple[PaperUpdate, ...] = ()  # papers the reader got that have a new version


@dataclass(frozen=True)
class PaperUpdate:
    """A paper the reader was sent whose newer version changed title or abstract: told once."""

    paper: Paper  # as it is now (its newest version)
    sent_version: int


@dataclass(frozen=True)
class Links:
    """Absolute URLs an email carries; built by :mod:`digest.tokens`, shown by the renderer."""

    manage: str
    unsubscribe: str
    unsubscribe_mailto: str
    archive: str
    feedback: dict[int, tuple[str, str]] = field(default_factory=dict)  # paper id → (more, less)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class OutgoingMessage:
    """A message ready for the wire: envelope plus the exact bytes.

    ``crlf_only`` promises that every line of ``data`` ends in CRLF, as :mod:`digest.render.mime`
    writes them, so the SMTP transport need not scan the message to normalise line ends.
    """

    sender: str
    recipient: str
    message_id: str
    data: bytes
    crlf_only: bool = False
