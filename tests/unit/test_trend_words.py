"""The one wording of trending: sites named, Hacker News points called points."""

from __future__ import annotations

from digest.models import TrendSignal
from digest.render.trend_words import site_of, trend_phrase, trend_words

HF = "https://huggingface.co/papers/2604.21003"
HN = "https://news.ycombinator.com/item?id=42"
REDDIT = "https://www.reddit.com/r/MachineLearning/comments/x"


def test_hugging_face_upvotes_and_hacker_news_points_keep_their_names() -> None:
    signal = TrendSignal(
        sources=4, mentions=3, upvotes=170, mention_sites=((HF, 123), (HN, 45), (REDDIT, 2))
    )
    assert trend_words(signal) == (
        "Trending: 123 upvotes on Hugging Face · "
        "2 mentions (Hacker News 45 points, Reddit 2 upvotes)"
    )


def test_one_vote_and_a_mention_without_votes_read_in_the_singular() -> None:
    signal = TrendSignal(sources=3, mentions=2, upvotes=1, mention_sites=((HF, 1), (HN, 0)))
    assert trend_phrase(signal) == "1 upvote on Hugging Face · 1 mention (Hacker News)"


def test_a_paper_only_listed_by_feeds_says_in_how_many() -> None:
    assert trend_words(TrendSignal(sources=3)) == "Trending: in 3 sources"
    assert trend_words(TrendSignal(sources=1)) == ""
    assert trend_words(None) == ""


def test_unknown_sites_are_named_by_their_host() -> None:
    assert site_of("https://blog.example.org/post") == ("blog.example.org", "vote")
    assert site_of("https://hnrss.org/newest") == ("Hacker News", "point")
