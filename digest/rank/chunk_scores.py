"""The arrays ranking works on: per run (trending, id lookup) and per chunk of profiles.

A chunk scores ``chunk_size`` profiles against every paper at once; :mod:`.ranking` reads the
scores, the passing mask and the topic labels from it and asks it for the picks it will show.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence

import numpy as np

from digest.models import Paper, Pick, Profile, TrendSignal
from digest.rank import matching as m
from digest.rank.arrays import Flags, Positions
from digest.rank.batch import chunk_relevance, weighted_strength
from digest.rank.feedback import NEGATIVE_PREFIX
from digest.rank.index import CorpusIndex
from digest.rank.reasons import TopicMatch, embedding_reasons, relevance_reasons, topic_reasons
from digest.rank.select import OTHER_TOPIC_LABEL, trend_reasons, trending_score
from digest.rank.tables import text_table


class RunArrays:
    """What one call shares across its chunks: the index, trending per paper, ids → positions."""

    def __init__(
        self, index: CorpusIndex, signals: Mapping[int, TrendSignal], now: dt.datetime
    ) -> None:
        self.index = index
        self.signals = signals
        self.trending = np.asarray(
            [trending_score(signals.get(p.id), p, now) for p in index.papers], dtype=np.float64
        ).reshape(index.size)
        ids = np.asarray([p.id for p in index.papers], dtype=np.int64).reshape(index.size)
        self.id_order: Positions = np.argsort(ids, kind="stable")
        self.sorted_ids = ids[self.id_order]
        self.id_rank = np.empty(index.size, dtype=np.intp)
        self.id_rank[self.id_order] = np.arange(index.size)
        self.trend_reasons = [trend_reasons(signals.get(p.id)) for p in index.papers]

    def seed_positions(self, seeds: Sequence[str], seed_papers: Sequence[Paper]) -> Positions:
        """Positions of the seed papers (positive or negative) among today's candidates."""
        found = {self.index.find(seed.removeprefix(NEGATIVE_PREFIX)) for seed in seeds}
        found.discard(None)
        at = self.positions({p.id for p in seed_papers}).tolist() + sorted(found)  # type: ignore[type-var]
        return np.asarray(at, dtype=np.intp)

    def positions(self, paper_ids: Collection[int]) -> Positions:
        if not paper_ids or not self.index.size:
            return np.zeros(0, dtype=np.intp)
        wanted = np.fromiter(paper_ids, dtype=np.int64, count=len(paper_ids))
        at: Positions = np.minimum(np.searchsorted(self.sorted_ids, wanted), self.index.size - 1)
        present: Flags = self.sorted_ids[at] == wanted
        return self.id_order[at[present]]


class ChunkScores:
    """Scores, passing papers and topic labels of one chunk of profiles."""

    def __init__(
        self,
        run: RunArrays,
        profiles: Sequence[Profile],
        exclude_paper_ids: Sequence[Collection[int]],
        seed_papers: Sequence[Sequence[Paper]],
    ) -> None:
        self.run, self.profiles, self.seed_papers = run, profiles, seed_papers
        self.rel = rel = chunk_relevance(profiles, run.index, seed_papers)
        t = np.asarray([min(max(p.trending, 0.0), 1.0) for p in profiles])[:, None]
        self.t = t[:, 0]
        self.score = np.round((1.0 - t) * rel.relevance + t * run.trending, 9)
        min_score = np.asarray([p.min_score for p in profiles])[:, None]
        passing = (rel.relevance > 0) | ((t >= 1.0) & (run.trending > 0))
        passing &= self.score >= min_score
        for i, ids in enumerate(exclude_paper_ids):
            passing[i, run.positions(ids)] = False
        for i, profile in enumerate(profiles):
            if profile.seeds:  # the reader's own library is never recommended back
                passing[i, run.seed_positions(profile.seeds, seed_papers[i])] = False
        self.passing = passing
        slots = rel.rows.shape[1]
        self.label = np.where(rel.relevance > 0, rel.label, slots)
        self._serve_every_topic()

    def _serve_every_topic(self) -> None:
        """Label a paper with each topic that has a passing paper but no paper of its own.

        A paper is labelled with its best topic, so a topic whose papers all serve a stronger
        one would get no pick. Such a topic takes, from a topic with two or more papers, the
        passing paper it matches best (at least NAMED_TOPIC_MIN, so its reason can name it).
        """
        rel, table, slots = self.rel, text_table(self.run.index), self.rel.rows.shape[1]
        for j in range(slots):
            present = rel.rows[:, j] > 0
            if not present.any():
                break
            own = ((self.label == j) & self.passing).any(axis=1)
            for i in np.flatnonzero(present & ~own).tolist():
                weighted = weighted_strength(table.strength[rel.rows[i, j]], rel.weights[i, j])
                counts = np.bincount(self.label[i][self.passing[i]], minlength=slots + 1)
                donors = self.passing[i] & (weighted >= m.NAMED_TOPIC_MIN)
                donors &= counts[self.label[i]] >= 2
                if donors.any():
                    docs = np.flatnonzero(donors)
                    order = np.lexsort(
                        (self.run.id_rank[docs], -self.score[i, docs], -weighted[docs])
                    )
                    self.label[i, docs[order[0]]] = j

    def labels(self, i: int) -> list[str]:
        """Label per topic slot (the last is "no topic")."""
        topics = self.rel.topics[i]
        return topics + [OTHER_TOPIC_LABEL] * (self.rel.rows.shape[1] + 1 - len(topics))

    def ordered(self, candidates: Flags) -> list[Positions]:
        """Per row, the candidate positions best first (score, then the lower paper id)."""
        rows, docs = np.nonzero(candidates)
        order = np.lexsort((self.run.id_rank[docs], -self.score[rows, docs], rows))
        rows, docs = rows[order], docs[order]
        return np.split(docs, np.searchsorted(rows, np.arange(1, len(self.profiles))))

    def digest_candidates(self) -> Flags:
        """Passing papers among the best ``per_digest`` of their topic: all a digest can use."""
        keep = max([p.per_digest for p in self.profiles] + [1])
        candidates = np.zeros(self.passing.shape, dtype=bool)
        slots = self.rel.rows.shape[1]
        for slot in range(slots + 1):
            at = (
                np.flatnonzero(self.rel.rows[:, slot] > 0)
                if slot < slots
                else np.arange(len(candidates))
            )
            mask = self.passing[at] & (self.label[at] == slot)
            if not mask.any():
                continue
            if keep < mask.shape[1]:
                scores = np.where(mask, self.score[at], -np.inf)
                kth = -np.partition(-scores, keep - 1, axis=1)[:, keep - 1]
                mask &= scores >= kth[:, None]
            candidates[at] |= mask
        return candidates

    def counts(self, i: int) -> Counter[str]:
        labels = self.labels(i)
        counts: Counter[str] = Counter()
        found = np.bincount(self.label[i][self.passing[i]], minlength=len(labels))
        for slot, count in enumerate(found.tolist()):
            if count:
                counts[labels[slot]] += count
        return counts

    def topic_matches(self, i: int, at: Positions) -> list[list[TopicMatch]]:
        """Per paper ``at``, each of profile ``i``'s topics: strength and completeness."""
        rel, table = self.rel, text_table(self.run.index)
        topics = rel.topics[i]
        cells = np.ix_(rel.rows[i, : len(topics)], at)
        strengths = weighted_strength(table.strength[cells], rel.weights[i, : len(topics), None])
        complete = table.complete[cells]
        return [
            [TopicMatch(text, w, c) for text, w, c in zip(topics, ws, cs, strict=True)]
            for ws, cs in zip(strengths.T.tolist(), complete.T.tolist(), strict=True)
        ]

    def picks(self, i: int, docs: Sequence[int]) -> list[Pick]:
        """The picks of profile ``i`` for papers ``docs``, in that order, with their reasons."""
        rel, profile, index = self.rel, self.profiles[i], self.run.index
        at = np.asarray(docs, dtype=np.intp)
        topics = rel.topics[i]
        rows = zip(
            docs,
            rel.relevance[i, at].tolist(),
            self.score[i, at].tolist(),
            self.run.trending[at].tolist(),
            self.label[i, at].tolist(),
            (rel.near_ok[i, at] + 2 * rel.meaning[i, at] + 4 * rel.liked[i, at]).tolist(),
            rel.boosts[:, i, at].T.tolist(),
            self.topic_matches(i, at),
            strict=True,
        )
        seeds = self.seed_papers[i] if self.seed_papers else ()
        picks = []
        for doc, relevance, score, trending, label, grounds, boosts, matches in rows:
            reasons = []
            served = topics[label] if label < len(topics) else None
            if relevance > 0:
                named = topic_reasons(served, matches)
                reasons = embedding_reasons(grounds, served, matches)
                reasons += relevance_reasons(profile, index, seeds, doc, named, grounds & 1, boosts)
            if self.t[i] > 0:
                reasons.extend(self.run.trend_reasons[doc])
            picks.append(
                Pick(
                    paper=index.papers[doc],
                    score=score,
                    relevance=round(relevance, 9),
                    trending=round(trending, 9),
                    topic=served,
                    reasons=tuple(reasons),
                )
            )
        return picks


def chunk_scores(
    profiles: Sequence[Profile],
    index: CorpusIndex,
    signals: Mapping[int, TrendSignal],
    now: dt.datetime,
    exclude_paper_ids: Sequence[Collection[int]] | None,
    seed_papers: Sequence[Sequence[Paper]] | None,
    chunk_size: int,
) -> Iterator[ChunkScores]:
    run = RunArrays(index, signals, now)
    for lo in range(0, len(profiles), max(chunk_size, 1)):
        hi = min(lo + max(chunk_size, 1), len(profiles))
        excluded = exclude_paper_ids[lo:hi] if exclude_paper_ids else [()] * (hi - lo)
        seeds = seed_papers[lo:hi] if seed_papers else [()] * (hi - lo)
        yield ChunkScores(run, profiles[lo:hi], excluded, seeds)
