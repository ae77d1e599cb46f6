from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.search import score_paths, select_best
from langgraph_slinvit.value import parse_critic_score


def path(actions, p, rollouts, critic=None):
    return {
        "actions": actions,
        "p_llm": p,
        "leaf_output": "",
        "critic": critic,
        "rollouts": [
            {"actions": actions, "value": v, "signature": s, "source": "feedback", "output": ""}
            for v, s in rollouts
        ],
        "stopped_by": None,
    }


def test_score_is_lambda_times_sum_p_plus_mean_value() -> None:
    cfg = SlinvitConfig(lam=0.5, agreement_weight=0.0)
    (scored,) = score_paths([path(["a", "b"], [0.6, 0.2], [(1.0, None), (0.0, None)])], cfg)
    assert scored["prior"] == 0.5 * 0.8
    assert scored["v_hat"] == 0.5
    assert scored["score"] == 0.9


def test_agreement_by_samples_is_the_policy_mass_reaching_the_result() -> None:
    cfg = SlinvitConfig(lam=0.0, agreement_weight=1.0)
    paths = [
        path(["a"], [0.5], [(1.0, "X")]),
        path(["b"], [0.25], [(1.0, "X")]),
        path(["c"], [0.25], [(1.0, "Y")]),
    ]
    a, b, c = score_paths(paths, cfg)
    assert a["v_hat"] == b["v_hat"] == 1.75  # 0.5 + 0.25 of the mass reaches X
    assert c["v_hat"] == 1.25
    # a result every sample proposed (one candidate) is full agreement, not none
    (alone,) = score_paths([path(["a"], [1.0], [(1.0, "X")])], cfg)
    assert alone["v_hat"] == 2.0
    # depth-2 paths weigh by the product of their P_LLM; no mass at all counts paths equally
    deep = [path(["a", "b"], [0.5, 0.5], [(1.0, "X")]), path(["c", "d"], [0.5, 1.0], [(1.0, "Y")])]
    expected = [round(1 + 1 / 3, 4), round(1 + 2 / 3, 4)]
    assert [p["v_hat"] for p in score_paths(deep, cfg)] == expected
    flat = [path(["a"], [0.0], [(1.0, "X")]), path(["b"], [0.0], [(1.0, "Y")])]
    assert [p["v_hat"] for p in score_paths(flat, cfg)] == [1.5, 1.5]


def test_best_valued_path_wins_over_more_probable_one() -> None:
    cfg = SlinvitConfig(lam=0.5, agreement_weight=0.0)
    scored = score_paths(
        [path(["likely"], [0.9], [(0.0, None)]), path(["right"], [0.1], [(1.0, "R")])], cfg
    )
    assert select_best(scored)["actions"] == ["right"]
    # with a large lambda the LLM prior dominates (lambda -> infinity returns the LLM policy)
    scored = score_paths(
        [path(["likely"], [0.9], [(0.0, None)]), path(["right"], [0.1], [(1.0, "R")])],
        SlinvitConfig(lam=10.0),
    )
    assert select_best(scored)["actions"] == ["likely"]


def test_ties_go_to_the_more_probable_path_and_empty_gives_none() -> None:
    cfg = SlinvitConfig(lam=0.0)
    scored = score_paths(
        [path(["a"], [0.2], [(1.0, None)]), path(["b"], [0.7], [(1.0, None)])], cfg
    )
    assert select_best(scored)["actions"] == ["b"]
    assert select_best([]) is None


def test_critic_modes() -> None:
    p = path(["a"], [0.0], [(1.0, None)], critic=0.2)
    assert score_paths([p], SlinvitConfig(value="critic", lam=0))[0]["v_hat"] == 0.2
    assert score_paths([p], SlinvitConfig(value="feedback+critic", lam=0))[0]["v_hat"] == 0.6


def test_parse_critic_score() -> None:
    assert parse_critic_score("looks right.\nScore: 8") == 0.8
    assert parse_critic_score("Score: 3 ... no wait, Score = 10") == 1.0
    assert parse_critic_score("score: 42") == 1.0
    assert parse_critic_score("no number") is None


def test_budget_split_holds_exactly_what_is_left() -> None:
    from langgraph_slinvit.budget import Budget

    budget = Budget(llm_calls=7, tokens=100, deadline=1e18, rollouts=5)
    budget.record(llm_calls=2, prompt_tokens=30, completion_tokens=10, rollouts=1)
    parts = budget.split(3)
    assert [p.llm_calls for p in parts] == [2, 2, 1]
    assert sum(p.tokens for p in parts) == 60
    assert sum(p.rollouts for p in parts) == 4
    assert [p.llm_calls for p in Budget(llm_calls=1, tokens=9, deadline=1e18).split(3)] == [1, 0, 0]


def test_max_aggregation_takes_the_best_rollout() -> None:
    rollouts = [(0.2, None), (1.0, None), (0.0, None)]
    mean = SlinvitConfig(lam=0.0, agreement_weight=0.0)
    (scored,) = score_paths([path(["a"], [1.0], rollouts)], mean)
    assert scored["v_hat"] == 0.4
    optimistic = SlinvitConfig(lam=0.0, agreement_weight=0.0, rollout_aggregate="max")
    (scored,) = score_paths([path(["a"], [1.0], rollouts)], optimistic)
    assert scored["v_hat"] == 1.0


def test_leaves_to_roll_out_are_the_best_valued_then_most_probable() -> None:
    from langgraph_slinvit.search import leaves_to_roll_out

    leaves = [
        path(["a"], [0.1], [(0.5, None)]),
        path(["b"], [0.1], [(0.9, None)]),
        path(["c"], [0.7], [(0.5, None)]),
        path(["d"], [0.1], [(0.5, None)]),
    ]
    assert leaves_to_roll_out(leaves, 1) == [1]
    assert leaves_to_roll_out(leaves, 2) == [1, 2]  # c beats a and d on P_LLM
    assert leaves_to_roll_out(leaves, 3) == [0, 1, 2]  # a beats d: the earlier one
    assert leaves_to_roll_out(leaves, 9) == [0, 1, 2, 3]
