"""The value-separation count read from a run's recorded decisions."""

from __future__ import annotations

from langgraph_slinvit.bench.separation import separation


def test_ties_and_the_decisions_the_value_changed_are_counted_apart() -> None:
    decisions = [
        # every path valued the same: the prior's first (path 0) is chosen
        {"v_hat": [1.0, 1.0, 1.0], "score": [1.5, 1.25, 1.0], "chosen": 0},
        # the value lifts path 1 over the prior's first
        {"v_hat": [0.1, 1.0], "score": [0.6, 1.25], "chosen": 1},
        # the value differs, but the prior's first wins anyway
        {"v_hat": [1.0, 0.5], "score": [1.5, 0.75], "chosen": 0},
        # one path only: nothing to separate
        {"v_hat": [1.5], "score": [2.0], "chosen": 0},
    ]
    s = separation(decisions)
    assert (s.decisions, s.tied, s.value_chose) == (3, 1, 1)
    assert s.share(s.tied) == 1 / 3


def test_equal_priors_rank_the_earlier_path_first_as_the_search_does() -> None:
    # equal priors and equal values: the search picks the earlier path, not a value choice
    same = {"v_hat": [1.0, 1.0], "score": [1.25, 1.25], "chosen": 0}
    later = {"v_hat": [1.0, 1.0], "score": [1.25, 1.25], "chosen": 1}
    assert separation([same]).value_chose == 0
    assert separation([later]).value_chose == 1
