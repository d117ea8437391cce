"""Behaviour of digest.rank on real titles and abstract excerpts from tests/fixtures."""

from __future__ import annotations

import datetime as dt

from digest.models import Paper, Profile, Topic, TrendSignal
from digest.rank import build_index, explain_exclusions, rank
from digest.rank.text import stem

NOW = dt.datetime(2026, 6, 14, 12, tzinfo=dt.UTC)

VIA_SD = (
    "VIA-SD: Verification via Intra-Model Routing for Speculative Decoding",
    "Speculative decoding (SD) addresses the high inference costs of LLMs by having lightweight "
    "drafters generate candidates for large verifiers to validate in parallel. Existing "
    "draft-verify methods use binary decisions: accept or fully recompute.",
)
FOCUS_SESSION = (
    "Focus Session: Hardware and Software Techniques for Accelerating Multimodal Foundation Models",
    "This work presents a multi-layered methodology for efficiently accelerating multimodal "
    "foundation models (MFMs). It also optimizes operations through speculative decoding, model "
    "cascading that routes queries through a small-to-large cascade and uses lightweight "
    "self-tests to determine when to escalate to larger models.",
)
SG_OPD = (
    "SG-OPD: Sign-Gated On-Policy Distillation via Sign-Consistency Gating and Phased Teacher "
    "Sampling",
    "On-policy distillation (OPD) trains a student on its own trajectories with dense per-token "
    "supervision from a stronger teacher, and often outperforms off-policy distillation and "
    "standard reinforcement learning.",
)
DEMYSTIFYING = (
    "Demystifying Hidden-State Recurrence: Switchable Latent Reasoning with On-Policy "
    "Reinforcement Learning",
    "Latent chain-of-thought compresses reasoning by replacing visible reasoning traces with "
    "continuous hidden-state recurrence, but existing formulations are difficult to optimize with "
    "standard on-policy reinforcement learning (RL) and hard to interpret causally.",
)
TRANSLATING = (
    "Translating Under Pressure: Domain-Aware LLMs for Crisis Communication",
    "We use the resulting dataset to fine-tune a small language model for crisis-domain "
    "translation and then apply preference optimization to bias outputs toward CEFR A2-level "
    "English.",
)
V_GRPO = (
    "V-GRPO: Online Reinforcement Learning for Denoising Generative Models Is Easier than You "
    "Think",
    "Aligning denoising generative models with human preferences or verifiable rewards remains a "
    "key challenge. Prior work therefore either optimizes an induced Markov decision process over "
    "sampling trajectories, which is stable but inefficient.",
)
LANGUAGE_DIFFUSION = (
    "Language Diffusion Models are Associative Memories Capable of Retrieving Unseen Data",
    "When do language diffusion models memorize their training data, and how to quantitatively "
    "assess their true generative regime?",
)
STEP_AUDIO = (
    "Step-Audio-R1.5 Technical Report",
    "While RLVR yields remarkable scores on standardized objective benchmarks, it systematically "
    "degrades the real-world conversational feel of audio models. We introduce Step-Audio-R1.5, "
    "marking a paradigm shift toward Reinforcement Learning from Human Feedback (RLHF) in audio "
    "reasoning, with a reward model trained on human preference data.",
)
FLASH_GMM = (
    "Flash-GMM: A Memory-Efficient Kernel for Scalable Soft Clustering",
    "We present Flash-GMM, a fused Triton kernel for efficient computation of Gaussian Mixture "
    "Models (GMMs) over large-scale data in a single GPU pass.",
)
EVOARENA = (
    "EvoArena: Tracking Memory Evolution for Robust LLM Agents in Dynamic Environments",
    "Large language model (LLM) agents have achieved strong performance on a wide range of "
    "benchmarks, yet most evaluations assume static environments.",
)
WEB_CHALLENGER = (
    "WebChallenger: A Reliable and Efficient Generalist Web Agent",
    "Autonomous web navigation remains challenging for LLM agents, and the strongest generalist "
    "systems rely on proprietary reasoning models whose inference cost is prohibitive.",
)
KROPINA = (
    "On Einstein Kropina metrics",
    "In this paper, a characteristic condition of Einstein Kropina metrics is given.",
)
ADMM = (
    "Learning Over-Relaxation Policies for ADMM with Convergence Guarantees",
    "The Alternating Direction Method of Multipliers (ADMM) is a widely used method for "
    "structured convex optimization, and its practical performance depends strongly on the "
    "choice of penalty and relaxation parameters.",
)
CONVEX_PRIMARY_OC = (
    "Accelerated first-order methods for composite convex optimization",
    "We give an accelerated proximal gradient method for convex optimization with a "
    "nonsmooth regulariser and prove its rate.",
)
SONGBIRD = (
    "Millisecond-scale, single-neuron credit assignment in a songbird",
    "How the brain assigns credit to individual neurons for behavioural outcomes is unknown; we "
    "record single neurons in the songbird premotor nucleus during singing.",
)


def paper(paper_id: int, text: tuple[str, str], **fields: object) -> Paper:
    title, abstract = text
    return Paper(id=paper_id, key=f"k{paper_id}", title=title, abstract=abstract, **fields)  # type: ignore[arg-type]


def topics(*texts: str, **fields: object) -> Profile:
    return Profile(topics=tuple(Topic(t) for t in texts), **fields)  # type: ignore[arg-type]


def ranked_ids(profile: Profile, papers: list[Paper], **kwargs: object) -> list[int]:
    picks = rank(profile, build_index(papers), {}, now=NOW, **kwargs)  # type: ignore[arg-type]
    return [pick.paper.id for pick in picks]


def test_phrase_match_beats_scattered_words() -> None:
    title, abstract = TRANSLATING
    scattered = abstract.replace(
        "apply preference optimization to bias outputs toward",
        "apply optimization to bias outputs toward the preference of",
    )
    papers = [paper(1, (title, scattered)), paper(2, TRANSLATING)]
    assert ranked_ids(topics("preference optimization"), papers) == [2, 1]


def test_topic_words_spread_across_a_paper_still_match() -> None:
    papers = [paper(1, V_GRPO), paper(2, SONGBIRD)]
    assert ranked_ids(topics("preference optimization"), papers) == [1]


def test_title_match_beats_abstract_only_match() -> None:
    papers = [paper(1, FOCUS_SESSION), paper(2, VIA_SD)]
    assert ranked_ids(topics("speculative decoding"), papers) == [2, 1]


def test_stemming_matches_modelling_to_models() -> None:
    assert stem("modelling") == stem("models") == stem("model")
    papers = [paper(1, SONGBIRD), paper(2, LANGUAGE_DIFFUSION)]
    assert ranked_ids(topics("diffusion modelling"), papers) == [2]


def test_acronym_learnt_from_corpus_matches_long_form_and_back() -> None:
    spelled = paper(1, SG_OPD)
    only_acronym = paper(2, ("Temporal curriculum for OPD", "We study OPD in multi-turn agents."))
    index = build_index([spelled, only_acronym, paper(3, SONGBIRD)])
    assert index.acronyms["opd"] == ("polici", "distil")
    by_acronym = rank(topics("OPD"), index, {}, now=NOW)
    by_words = rank(topics("on-policy distillation"), index, {}, now=NOW)
    assert {p.paper.id for p in by_acronym} == {1, 2}
    assert {p.paper.id for p in by_words} == {1, 2}


def test_acronym_plural_matches_singular() -> None:
    papers = [
        paper(1, ("Robust-U1: Can MLLMs Self-Recover Corrupted Visual Content?", "")),
        paper(2, SONGBIRD),
    ]
    assert ranked_ids(topics("MLLM"), papers) == [1]


def test_exclusion_drops_paper_mainly_about_excluded_topic() -> None:
    papers = [paper(1, SG_OPD), paper(2, DEMYSTIFYING)]
    profile = topics("on-policy distillation", exclude=("reinforcement learning",))
    assert ranked_ids(profile, papers) == [1]
    assert 2 in explain_exclusions(profile, build_index(papers))


def test_exclusion_keeps_paper_mentioning_it_in_passing() -> None:
    papers = [paper(1, SG_OPD), paper(2, SONGBIRD)]
    profile = topics("on-policy distillation", exclude=("reinforcement learning",))
    assert ranked_ids(profile, papers) == [1]


def test_exclusion_stronger_in_abstract_than_topic_drops_paper() -> None:
    flood = (
        "A note on training",
        "Reinforcement learning, reinforcement learning agents and "
        "reinforcement learning theory; we also mention distillation once.",
    )
    profile = topics("distillation", exclude=("reinforcement learning",))
    assert ranked_ids(profile, [paper(1, flood), paper(2, SG_OPD)]) == [2]


def test_paper_matching_nothing_is_absent() -> None:
    papers = [paper(1, VIA_SD), paper(2, SONGBIRD), paper(3, KROPINA)]
    assert ranked_ids(topics("speculative decoding"), papers) == [1]


def test_multi_word_topic_needs_most_of_its_words() -> None:
    index = build_index([paper(1, STEP_AUDIO), paper(2, FLASH_GMM), paper(3, SONGBIRD)])
    picks = rank(topics("reward models for RLHF"), index, {}, now=NOW)
    assert picks[0].paper.id == 1
    only_models = next(p for p in picks if p.paper.id == 2)
    assert only_models.relevance < 0.25 < picks[0].relevance


def test_exclude_paper_ids_are_never_repeated() -> None:
    papers = [paper(1, VIA_SD), paper(2, FOCUS_SESSION)]
    assert ranked_ids(topics("speculative decoding"), papers, exclude_paper_ids={1}) == [2]


def test_reasons_name_matched_topics_and_trend() -> None:
    index = build_index([paper(1, VIA_SD)])
    profile = topics("speculative decoding", "LLM inference", "protein folding")
    sites = (("https://huggingface.co/papers/1", 10.0), ("https://news.ycombinator.com/x", 4.0))
    signal = TrendSignal(sources=3, mentions=2, upvotes=14, mention_sites=sites)
    pick = rank(profile, index, {1: signal}, now=NOW)[0]
    assert pick.topic == "speculative decoding"
    assert pick.reasons[0] == "matched: speculative decoding, LLM inference"
    assert "Trending: 10 upvotes on Hugging Face · 1 mention (Hacker News 4 points)" in pick.reasons


def test_topic_weight_multiplies_relevance() -> None:
    index = build_index([paper(1, VIA_SD), paper(2, SG_OPD)])
    decoding = Profile(topics=(Topic("speculative decoding", 3.0), Topic("on-policy distillation")))
    distilling = Profile(
        topics=(Topic("speculative decoding"), Topic("on-policy distillation", 3.0))
    )
    assert rank(decoding, index, {}, now=NOW)[0].paper.id == 1
    assert rank(distilling, index, {}, now=NOW)[0].paper.id == 2


def test_followed_author_boosts_and_gives_reason() -> None:
    papers = [
        paper(1, EVOARENA, authors=("Jundong Xu", "Qingchuan Li")),
        paper(2, WEB_CHALLENGER, authors=("Jayoo Hwang", "Xiaowen Zhang")),
    ]
    profile = topics("LLM agents", authors=("X. Zhang",))
    picks = rank(profile, build_index(papers), {}, now=NOW)
    assert picks[0].paper.id == 2
    assert "by an author you follow: Xiaowen Zhang" in picks[0].reasons


def test_followed_author_match_ignores_accents_and_case() -> None:
    papers = [paper(1, SONGBIRD, authors=("Boglárka Ecsedi",))]
    picks = rank(Profile(authors=("b. ECSEDI",)), build_index(papers), {}, now=NOW)
    assert [p.paper.id for p in picks] == [1]


def test_category_boost_and_reason() -> None:
    papers = [
        paper(1, KROPINA, categories=("math.DG",)),
        paper(2, ADMM, categories=("math.OC", "cs.LG")),
    ]
    picks = rank(Profile(categories=("cs.LG",)), build_index(papers), {}, now=NOW)
    assert [p.paper.id for p in picks] == [2]
    assert picks[0].reasons == ("in cs.LG",)


def test_category_exclude_drops_papers_by_primary_category_only() -> None:
    papers = [
        paper(1, KROPINA, categories=("math.DG",)),
        paper(2, ADMM, categories=("cs.LG", "math.OC")),  # cross-listed into math.OC: stays
        paper(3, CONVEX_PRIMARY_OC, categories=("math.OC", "cs.LG")),  # primary math.OC: dropped
    ]
    profile = topics(
        "Einstein metrics", "convex optimization", exclude_categories=("math.DG", "math.OC")
    )
    assert ranked_ids(profile, papers) == [2]
    reasons = explain_exclusions(profile, build_index(papers))
    assert reasons[3] == "primary category excluded: math.OC"
    assert reasons[1] == "primary category excluded: math.DG"


def test_seed_paper_terms_find_similar_papers() -> None:
    papers = [
        paper(1, SG_OPD, arxiv_id="2606.09304"),
        paper(
            2,
            (
                "TCOD: Temporal Curriculum in On-Policy Distillation",
                "On-policy distillation "
                "(OPD) transfers reasoning from a teacher to smaller students.",
            ),
        ),
        paper(3, SONGBIRD),
    ]
    picks = rank(
        Profile(seeds=("arXiv:2606.09304v2", "2401.99999")), build_index(papers), {}, now=NOW
    )
    assert [p.paper.id for p in picks] == [2]
    (reason,) = picks[0].reasons  # the seed is named by its title, never by its arXiv id
    assert reason.startswith("like your seed “SG-OPD: Sign-Gated On-Policy Distillation")
    assert "2606.09304" not in reason


def test_min_score_drops_weak_picks() -> None:
    papers = [paper(1, VIA_SD), paper(2, FOCUS_SESSION)]
    assert ranked_ids(topics("speculative decoding", min_score=0.45), papers) == [1]


def test_order_is_deterministic_with_ties_broken_by_paper_id() -> None:
    papers = [paper(7, VIA_SD), paper(3, VIA_SD), paper(5, VIA_SD)]
    first = ranked_ids(topics("speculative decoding"), papers)
    again = ranked_ids(topics("speculative decoding"), list(reversed(papers)))
    assert first == again == [3, 5, 7]
