"""InterCode-SQL reward: fixed cases (expected values computed with InterCode's own code and
scipy 1.x) and property tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langgraph_slinvit.bench.rewards.sql import (
    compute_sql_reward,
    gold_has_order_by,
    intersect_items,
    kendall_tau_b,
    sql_reward,
    sql_success,
    stringify_rows,
)

# --------------------------------------------------------------------------- Kendall tau


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (["a", "b", "c"], ["a", "b", "c"], 1.0),
        (["a", "b", "c"], ["c", "b", "a"], -1.0),
        # values from scipy.stats.kendalltau(x, y).statistic
        (["b", "a", "c"], ["c", "a", "b"], 0.33333333333333337),
        (["a", "a", "b"], ["a", "b", "a"], -0.49999999999999994),
        (["a", "b", "c", "d"], ["b", "a", "d", "c"], 0.3333333333333334),
    ],
)
def test_kendall_tau_matches_scipy(x: list[str], y: list[str], expected: float) -> None:
    assert kendall_tau_b(x, y) == expected


@pytest.mark.parametrize(("x", "y"), [([], []), (["a"], ["a"]), (["a", "a"], ["a", "a"])])
def test_kendall_tau_nan_when_undefined(x: list[str], y: list[str]) -> None:
    assert math.isnan(kendall_tau_b(x, y))


def test_kendall_tau_length_mismatch() -> None:
    with pytest.raises(ValueError):
        kendall_tau_b(["a"], ["a", "b"])


def test_kendall_tau_against_scipy_if_available() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    import random

    rng = random.Random(1)
    for _ in range(300):
        alphabet = [f"('{c}',)" for c in "abcdefg"[: rng.randint(1, 7)]]
        x = [rng.choice(alphabet) for _ in range(rng.randint(1, 10))]
        y = x[:]
        rng.shuffle(y)
        ref = scipy_stats.kendalltau(x, y, nan_policy="omit").statistic
        ours = kendall_tau_b(x, y)
        assert (math.isnan(ref) and math.isnan(ours)) or ref == ours


# --------------------------------------------------------------------------- reward rule


def test_stringify_and_intersect() -> None:
    assert stringify_rows([(1, "a"), [2, None]]) == ["(1, 'a')", "(2, None)"]
    from collections import Counter

    counts = Counter({"x": 1, "y": 2})
    assert intersect_items(["y", "x", "x", "z", "y", "y"], counts) == ["y", "x", "y"]
    assert counts == Counter({"x": 1, "y": 2})  # not modified


def test_identical_results() -> None:
    rows = [(1, "a"), (2, "b"), (3, "c")]
    r = compute_sql_reward(rows, list(rows))
    assert (r.reward, r.iou, r.tau, r.success) == (1.0, 1.0, 1.0, True)


def test_reversed_order_gives_negative_reward() -> None:
    assert sql_reward([(3,), (2,), (1,)], [(1,), (2,), (3,)]) == -1.0


def test_partial_overlap_with_single_shared_row_keeps_raw_iou() -> None:
    # one shared row: tau is NaN, the unrounded IoU 1/3 is kept (as in InterCode)
    assert sql_reward([(1,), (2,)], [(1,), (3,)]) == 1 / 3


def test_tau_on_row_strings_not_positions() -> None:
    # InterCode passes row strings to kendalltau: value computed with InterCode + scipy
    assert sql_reward([(2,), (1,), (3,), (4,)], [(1,), (2,), (3,), (5,)]) == 0.2


def test_multiset_union_takes_larger_count() -> None:
    r = compute_sql_reward([("a",), ("a",), ("b",)], [("a",), ("b",), ("b",)])
    assert r.iou == 2 / 4


def test_empty_and_error_cases() -> None:
    assert sql_reward([], []) == 1.0
    assert sql_reward([], None) == 1.0  # failing gold counts as empty, as in InterCode
    assert sql_reward(None, [(1,)]) == 0.0
    assert sql_reward(None, []) == 0.0
    assert sql_reward([(1,)], []) == 0.0
    assert sql_reward([], [(1,)]) == 0.0


def test_order_modes() -> None:
    agent, gold = [(2,), (1,)], [(1,), (2,)]
    assert sql_reward(agent, gold) == -1.0
    assert sql_reward(agent, gold, order_sensitive=False) == 1.0
    no_order = "SELECT x FROM t"
    ordered = "SELECT x FROM t ORDER BY x"
    assert sql_reward(agent, gold, order_sensitive="order_by_only", gold_sql=no_order) == 1.0
    assert sql_reward(agent, gold, order_sensitive="order_by_only", gold_sql=ordered) == -1.0
    with pytest.raises(ValueError):
        sql_reward(agent, gold, order_sensitive="order_by_only")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT a FROM t ORDER BY a", True),
        ("select a from t order  by a desc limit 1", True),
        ("SELECT a FROM t WHERE b = (SELECT b FROM u ORDER BY c LIMIT 1)", False),
        ("SELECT a FROM t WHERE name = 'ORDER BY'", False),
        ('SELECT "order by" FROM t', False),
        ("SELECT a FROM t -- ORDER BY a", False),
        ("SELECT a FROM t UNION SELECT a FROM u ORDER BY a", True),
        ("SELECT a FROM (SELECT a FROM t ORDER BY a) AS s ORDER BY a", True),
        ("SELECT border_by FROM t", False),
    ],
)
def test_gold_has_order_by(sql: str, expected: bool) -> None:
    assert gold_has_order_by(sql) is expected


def test_success() -> None:
    assert sql_success(1.0) and sql_success(1)
    assert not sql_success(0.99)


# --------------------------------------------------------------------------- properties

values = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.none(), st.floats(-2, 2))
rows = st.lists(st.tuples(values, values), max_size=8)


@given(rows)
def test_result_against_itself_is_one(r: list[tuple[object, object]]) -> None:
    assert sql_reward(r, list(r)) == 1.0
    assert sql_reward(r, list(r), order_sensitive="order_by_only", gold_sql="SELECT 1") == 1.0


@given(rows, rows)
def test_iou_symmetric_and_reward_bounded(
    a: list[tuple[object, object]], b: list[tuple[object, object]]
) -> None:
    ab, ba = compute_sql_reward(a, b), compute_sql_reward(b, a)
    assert ab.iou == ba.iou
    assert 0.0 <= ab.iou <= 1.0
    assert -1.0 <= ab.reward <= 1.0
    assert compute_sql_reward(a, b, order_sensitive=False).reward == ab.iou


@given(rows, st.randoms(use_true_random=False))
def test_permutation_keeps_iou_and_success_needs_same_order(
    r: list[tuple[object, object]], rnd: object
) -> None:
    shuffled = list(r)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    res = compute_sql_reward(shuffled, r)
    assert res.iou == 1.0
    if res.success and len(set(stringify_rows(r))) == len(r):
        assert stringify_rows(shuffled) == stringify_rows(r)
