"""``untried_candidates``: root candidates from the legal actions the episode has not taken."""

from __future__ import annotations

from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.proposal import Candidate
from langgraph_slinvit.search import untried_candidates

CHOICES = ["go to cabinet 1", "go to cabinet 2", "go to drawer 1", "examine cabinet 1", "look"]


def step(action: str) -> dict:
    return {"action": action, "observation": {"output": "", "ok": True}}


def test_they_skip_what_the_episode_took_and_what_the_model_proposed() -> None:
    proposed = [Candidate("examine cabinet 1", 0.9, 7)]
    steps = [step("go to cabinet 1"), step("look")]
    drawn = untried_candidates(proposed, CHOICES, steps, 5, seed=4)
    assert sorted(c.action for c in drawn) == ["go to cabinet 2", "go to drawer 1"]
    assert all(c.p_llm == 0.0 and c.count == 0 for c in drawn)
    one = untried_candidates(proposed, CHOICES, steps, 1, seed=4)
    assert len(one) == 1 and one[0].action in {"go to cabinet 2", "go to drawer 1"}


def test_the_draw_repeats_for_the_same_seed_and_state() -> None:
    draws = {
        seed: [untried_candidates([], CHOICES, [], 2, seed=seed)[i].action for i in range(2)]
        for seed in range(8)
    }
    assert all(
        draws[s] == [c.action for c in untried_candidates([], CHOICES, [], 2, s)] for s in draws
    )
    assert len({tuple(d) for d in draws.values()}) > 1  # the seed matters


def test_none_without_a_finite_action_set_or_when_off() -> None:
    assert untried_candidates([], None, [], 3, seed=0) == []
    assert untried_candidates([], CHOICES, [], 0, seed=0) == []
    assert untried_candidates([], [], [], 2, seed=0) == []
    assert SlinvitConfig().untried_candidates == 0
