"""Grading a value on earlier runs' answered trajectories: which trajectories, AUC, pairs."""

from __future__ import annotations

from langgraph_slinvit.bench.critic_separation import answered_trajectories, auc, within_task
from langgraph_slinvit.bench.results import ResultRow


def row(task: str, actions: list[str], success: bool, answer: int | None = None) -> ResultRow:
    details = {} if answer is None else {"answer_step": answer}
    return ResultRow(
        suite="s", method="m", model="x", config_hash="h", task_id=task, task_index=0,
        difficulty="", oracle=False, success=success, reward=float(success), gold_empty=None,
        llm_calls=1, prompt_tokens=0, completion_tokens=0, env_steps=len(actions),
        rollout_steps=0, seconds=0, actions=actions, details=details,
    )  # fmt: skip


def test_answered_trajectories_cut_at_the_answer_and_drop_disagreeing_labels() -> None:
    found = answered_trajectories(
        [
            row("t1", ["ls", "wc -l f"], True),
            row("t1", ["ls", "wc -l f", "rm f"], True, answer=1),  # answered at step 1: the same
            row("t1", ["cat f"], False),
            row("t1", ["date"], True),
            row("t1", ["date"], False),  # the same trajectory, another label: left out
            row("t2", [], False),  # nothing answered
        ]
    )
    assert set(found) == {"t1"}
    assert found["t1"].solved == {("ls", "wc -l f"): True, ("cat f",): False}
    assert found["t1"].mixed_labels == 1


def test_auc_counts_ties_half_and_needs_both_labels() -> None:
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.9], [True, False]) == 0.0
    assert auc([0.5, 0.5, 0.5, 0.0], [True, False, True, False]) == 0.75
    assert auc([1.0, 0.0], [True, True]) is None


def test_within_task_pairs_compare_only_inside_a_task() -> None:
    scored = {
        "a": {("x",): (0.9, True), ("y",): (0.2, False), ("z",): (0.9, False)},
        "b": {("x",): (0.1, True), ("y",): (0.5, False)},
        "c": {("x",): (0.0, False)},  # no pair: one label only
    }
    pairs = within_task(scored)
    assert (pairs.right, pairs.tied, pairs.wrong, pairs.total) == (1, 1, 1, 3)
