"""InterCode-SQL reward, reproduced from ``intercode/envs/sql/sql_env.py`` (``SqlEnv.get_reward``).

InterCode's rule, step by step (``order_sensitive=True``, the default):

1. Each result row is stringified (``str(tuple(row))``); an agent result that is not a row list
   (an error, or a statement without a result set) gives reward 0. A gold query that fails counts
   as an empty gold result, as in InterCode.
2. IoU over the row multisets: ``|agent & gold| / |union|`` where the union takes each row's larger
   count. Both empty gives 1.
3. If the intersection is non-empty, the shared rows are listed in agent order and in gold order
   (each occurrence consumed once), and the reward is multiplied by
   ``scipy.stats.kendalltau(agent_shared, gold_shared)`` and rounded to 2 decimals, unless tau
   is NaN (one shared row, or all shared rows equal) in which case the raw IoU is kept
   (unrounded). InterCode passes the *row strings* themselves to ``kendalltau``, not positions:
   tau-b is computed over the pairs ``(agent_shared[i], gold_shared[i])``, each side ranked by
   lexicographic string order. It is 1 exactly when both orders agree (without duplicate rows)
   but, for other permutations, it is not the rank correlation of the two orders. This module
   implements scipy's tau-b (tie-corrected, O(n log n)) in pure Python, giving the same numbers.

``order_sensitive="order_by_only"`` applies step 3 only when the gold query has a top-level
``ORDER BY`` (:func:`gold_has_order_by`); ``order_sensitive=False`` never applies it. Both return
the raw IoU when step 3 is skipped. Success is ``reward == 1.0``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "OrderMode",
    "SqlReward",
    "compute_sql_reward",
    "gold_has_order_by",
    "intersect_items",
    "kendall_tau_b",
    "sql_reward",
    "sql_success",
    "stringify_rows",
]

OrderMode = bool | Literal["order_by_only"]


def stringify_rows(rows: Iterable[Sequence[Any]]) -> list[str]:
    """InterCode's row stringification: ``str(tuple(row))`` for every row."""
    return [str(tuple(row)) for row in rows]


def intersect_items(items: Sequence[str], counts: Counter[str]) -> list[str]:
    """Items of ``items`` (in order) that are in the multiset ``counts``, consuming one count each.

    Mirrors InterCode's ``get_intersect_items``; ``counts`` is not modified.
    """
    remaining = Counter(counts)
    out: list[str] = []
    for item in items:
        if remaining.get(item, 0) > 0:
            remaining[item] -= 1
            out.append(item)
    return out


def _dense_ranks(values: Sequence[Any]) -> list[int]:
    order = {v: i for i, v in enumerate(sorted(set(values)))}
    return [order[v] for v in values]


def _pairs_tied(counts: Iterable[int]) -> int:
    return sum(c * (c - 1) // 2 for c in counts)


def kendall_tau_b(x: Sequence[Hashable], y: Sequence[Hashable]) -> float:
    """Kendall's tau-b of paired samples, as ``scipy.stats.kendalltau(x, y).statistic``.

    Values are ranked by their natural order (strings lexicographically). Returns NaN for empty
    input or when all values of ``x`` or of ``y`` are tied (e.g. a single pair).
    """
    n = len(x)
    if n != len(y):
        raise ValueError("x and y must have the same length")
    if n == 0:
        return math.nan
    xr, yr = _dense_ranks(x), _dense_ranks(y)
    pairs = sorted(zip(xr, yr, strict=True))
    # Discordant pairs: after sorting by (x, y), pairs i < j with y_i > y_j (ties in x have y
    # ascending, so they are never counted). Fenwick tree over y ranks.
    size = max(yr) + 1
    tree = [0] * (size + 1)
    dis = 0
    for seen, (_, yv) in enumerate(pairs):
        # number of earlier elements with y rank <= yv
        i, le = yv + 1, 0
        while i > 0:
            le += tree[i]
            i -= i & -i
        dis += seen - le
        i = yv + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    tot = n * (n - 1) // 2
    xtie = _pairs_tied(Counter(xr).values())
    ytie = _pairs_tied(Counter(yr).values())
    ntie = _pairs_tied(Counter(pairs).values())
    if xtie == tot or ytie == tot:
        return math.nan
    con_minus_dis = tot - xtie - ytie + ntie - 2 * dis
    tau = con_minus_dis / math.sqrt(tot - xtie) / math.sqrt(tot - ytie)
    return min(1.0, max(-1.0, tau))


_SQL_STRIP = re.compile(
    r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`[^`]*`|--[^\n]*|/\*.*?\*/", re.S
)
_SQL_SCAN = re.compile(r"\(|\)|\bORDER\s+BY\b", re.I)


def gold_has_order_by(sql: str) -> bool:
    """True if ``sql`` has an ``ORDER BY`` outside parentheses (so it orders the final result).

    String literals, quoted identifiers and comments are ignored; an ``ORDER BY`` inside a
    subquery does not count.
    """
    text = _SQL_STRIP.sub(" ", sql)
    depth = 0
    for m in _SQL_SCAN.finditer(text):
        tok = m.group()
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            return True
    return False


@dataclass(frozen=True)
class SqlReward:
    """Reward with its parts: ``iou``, ``tau`` (None when not applied or NaN), ``reward``."""

    reward: float
    iou: float
    tau: float | None

    @property
    def success(self) -> bool:
        """InterCode success: reward exactly 1."""
        return self.reward == 1.0


def compute_sql_reward(
    agent_rows: Sequence[Sequence[Any]] | None,
    gold_rows: Sequence[Sequence[Any]] | None,
    *,
    order_sensitive: OrderMode = True,
    gold_sql: str | None = None,
) -> SqlReward:
    """InterCode's SQL reward with its parts (see the module docstring).

    ``agent_rows`` is None when the agent's last action failed or returned no result set;
    ``gold_rows`` None (a failing gold query) counts as an empty result, as in InterCode.
    ``order_sensitive``: True (InterCode), False (IoU only) or ``"order_by_only"`` (tau only when
    ``gold_sql`` has a top-level ORDER BY; ``gold_sql`` is then required).
    """
    if order_sensitive == "order_by_only":
        if gold_sql is None:
            raise ValueError('order_sensitive="order_by_only" needs gold_sql')
        use_tau = gold_has_order_by(gold_sql)
    elif isinstance(order_sensitive, bool):
        use_tau = order_sensitive
    else:
        raise ValueError(f"invalid order_sensitive={order_sensitive!r}")
    if agent_rows is None:
        return SqlReward(0.0, 0.0, None)
    list_agent = stringify_rows(agent_rows)
    list_gold = stringify_rows(gold_rows or [])
    dist_agent, dist_gold = Counter(list_agent), Counter(list_gold)
    intersection = dist_agent & dist_gold
    union = dist_agent | dist_gold  # each row's larger count
    if not union:
        return SqlReward(1.0, 1.0, None)
    iou = sum(intersection.values()) * 1.0 / sum(union.values())
    reward, tau_used = iou, None
    if use_tau and intersection:
        agent_shared = intersect_items(list_agent, intersection)
        gold_shared = intersect_items(list_gold, intersection)
        tau = kendall_tau_b(agent_shared, gold_shared)
        if not math.isnan(tau):
            reward, tau_used = round(tau * iou, 2), tau
    return SqlReward(reward, iou, tau_used)


def sql_reward(
    agent_rows: Sequence[Sequence[Any]] | None,
    gold_rows: Sequence[Sequence[Any]] | None,
    *,
    order_sensitive: OrderMode = True,
    gold_sql: str | None = None,
) -> float:
    """InterCode's SQL reward as a float; see :func:`compute_sql_reward`."""
    return compute_sql_reward(
        agent_rows, gold_rows, order_sensitive=order_sensitive, gold_sql=gold_sql
    ).reward


def sql_success(reward: float) -> bool:
    """InterCode success: ``reward == 1.0``."""
    return reward == 1.0
