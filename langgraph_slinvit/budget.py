"""Usage accounting and budgets.

Usage is a plain dict (it lives in graph state) with the keys of :data:`USAGE_KEYS`. A
:class:`Budget` is handed to every piece of work that may call the LLM; it counts what that work
spends and raises :class:`BudgetExhausted` before a call that would go past its share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from langgraph_slinvit.records import BudgetRecord

USAGE_KEYS = (
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "rollouts",
    "env_steps",
    "rollout_steps",
    "seconds",
)


def empty_usage() -> dict[str, float]:
    return dict.fromkeys(USAGE_KEYS, 0)


def add_usage(left: dict | None, right: dict | None) -> dict:
    """Reducer: element-wise sum of two usage dicts."""
    out = empty_usage()
    for part in (left or {}, right or {}):
        for key, value in part.items():
            out[key] = round(out.get(key, 0) + value, 3)
    return out


class BudgetExhausted(Exception):
    """Raised when a budget would be exceeded; ``reason`` names the budget."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    """Limits for one piece of work, and what it has spent so far (thread-safe)."""

    llm_calls: int
    tokens: int
    deadline: float
    """``time.time()`` after which no new work starts."""
    rollouts: int = 1_000_000
    spent: dict = field(default_factory=empty_usage)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _held: int = field(default=0, repr=False)
    """LLM calls checked and under way (see :meth:`holding_calls`)."""

    def check_call(self, calls: int = 1) -> None:
        """Raise if ``calls`` more LLM calls are not allowed (calls under way count)."""
        with self._lock:
            self._check_call_locked(calls)
        if time.time() >= self.deadline:
            raise BudgetExhausted("max_seconds")

    @contextmanager
    def holding_calls(self, calls: int = 1) -> Iterator[None]:
        """Check that ``calls`` more LLM calls are allowed and hold them while the block runs,
        so that work in other threads cannot spend them meanwhile (record them inside)."""
        with self._lock:
            self._check_call_locked(calls)
            self._held += calls
        try:
            if time.time() >= self.deadline:
                raise BudgetExhausted("max_seconds")
            yield
        finally:
            with self._lock:
                self._held -= calls

    def _check_call_locked(self, calls: int) -> None:
        if self.spent["llm_calls"] + self._held + calls > self.llm_calls:
            raise BudgetExhausted("max_llm_calls")
        if self.spent["prompt_tokens"] + self.spent["completion_tokens"] >= self.tokens:
            raise BudgetExhausted("max_tokens")

    def check_rollout(self) -> None:
        with self._lock:
            if self.spent["rollouts"] >= self.rollouts:
                raise BudgetExhausted("max_rollouts")
        if time.time() >= self.deadline:
            raise BudgetExhausted("max_seconds")

    def record(self, **amounts: float) -> None:
        with self._lock:
            for key, value in amounts.items():
                self.spent[key] = self.spent.get(key, 0) + value

    def split(self, parts: int) -> list[Budget]:
        """Child budgets that together hold exactly what is left (earlier parts get the
        remainder). A part may get no LLM call: it can still value its candidate by running it."""
        parts = max(parts, 1)
        with self._lock:
            used = self.spent["prompt_tokens"] + self.spent["completion_tokens"]
            left = (
                max(0, self.llm_calls - self.spent["llm_calls"] - self._held),
                max(0, self.tokens - used),
                max(0, self.rollouts - self.spent["rollouts"]),
            )
        shares = [[n // parts + (1 if i < n % parts else 0) for n in left] for i in range(parts)]
        return [
            Budget(llm_calls=c, tokens=t, deadline=self.deadline, rollouts=r) for c, t, r in shares
        ]


def remaining_budget(config_limits: dict, usage: dict, started_at: float) -> Budget:
    """The budget left for a run, from its limits, its usage so far and its start time."""
    return Budget(
        llm_calls=int(config_limits["max_llm_calls"] - usage.get("llm_calls", 0)),
        tokens=int(
            config_limits["max_tokens"]
            - usage.get("prompt_tokens", 0)
            - usage.get("completion_tokens", 0)
        ),
        deadline=started_at + config_limits["max_seconds"],
        rollouts=int(config_limits["max_rollouts"] - usage.get("rollouts", 0)),
    )


def budget_record(budget: Budget) -> BudgetRecord:
    """A budget's limits as plain data (a branch's ``BudgetRecord``), what it spent left out."""
    return {
        "llm_calls": budget.llm_calls,
        "tokens": budget.tokens,
        "deadline": budget.deadline,
        "rollouts": budget.rollouts,
    }


def budget_from_record(record: BudgetRecord) -> Budget:
    """The budget a ``BudgetRecord`` describes, with nothing spent yet."""
    return Budget(
        llm_calls=int(record["llm_calls"]),
        tokens=int(record["tokens"]),
        deadline=float(record["deadline"]),
        rollouts=int(record["rollouts"]),
    )
