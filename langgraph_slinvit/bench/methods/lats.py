"""``lats``: a Language-Agent-Tree-Search-style baseline (non-oracle).

UCT over a tree whose nodes are action sequences:

* **select**: from the root, follow the child with the best ``Q/N + c * sqrt(ln N_parent / N)``
  (unvisited first) down to a node not yet expanded;
* **expand**: one request with ``n = k`` samples (k = 2) gives up to k distinct child actions
  (an action repeating the last one, or ``SUBMIT``, is a terminal child);
* **evaluate**: each new child's actions run in a fork of the real environment (never in the
  real one), and an LLM reflection scores its last observation 0-10 (one call per child);
* **backpropagate** the child's value to the root.

The search stops when the LLM budget (the same as every method's) is spent, when the tree is
exhausted, or when a reflection gives 10/10. The actions of the best-valued node (the deeper
on ties: it went further) are then executed in the real environment: that is the episode.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult, usage_from
from langgraph_slinvit.bench.methods.common import action_messages, make_policy, run_real
from langgraph_slinvit.budget import Budget, BudgetExhausted
from langgraph_slinvit.envs.base import Environment, critic_rubric_of, legal_actions_of, syntax_of
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import action_of, normalize
from langgraph_slinvit.value import critic_value

NAME = "lats"


def config(settings: BenchSettings) -> dict[str, Any]:
    return {
        "k": settings.lats_k,
        "exploration": settings.lats_exploration,
        "temperature": settings.temperature,
        "depth": settings.slinvit.horizon,
        "max_llm_calls": settings.max_llm_calls,
        "actions": "legal-action matching",  # prose naming a legal action counts
    }


def is_oracle(settings: BenchSettings) -> bool:
    return False


@dataclass(eq=False)
class Node:
    """A node of the search tree: the actions from the start and what the last one showed."""

    actions: list[str]
    steps: list[dict]
    """The simulated trajectory (``{"action", "observation"}``) that reaches this node."""
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    value: float = 0.0
    """The reflection's score of this node, in [0, 1]."""
    visits: int = 0
    total: float = 0.0
    terminal: bool = False
    expanded: bool = False
    closed: bool = False
    """Nothing left to expand below this node."""

    def uct(self, exploration: float) -> float:
        if self.visits == 0 or self.parent is None:
            return math.inf
        exploit = self.total / self.visits
        return exploit + exploration * math.sqrt(math.log(max(self.parent.visits, 1)) / self.visits)


def _select(root: Node, exploration: float) -> Node | None:
    """The next node to expand, closing exhausted subtrees on the way; None when all are."""
    while not root.closed:
        node = root
        while node.expanded:
            open_children = [c for c in node.children if not c.closed]
            if not open_children:
                node.closed = True
                break
            node = max(open_children, key=lambda c: c.uct(exploration))
        else:
            return node
    return None


def _backpropagate(node: Node | None, value: float) -> None:
    while node is not None:
        node.visits += 1
        node.total += value
        node = node.parent


def _simulate(env: Environment, actions: list[str]) -> tuple[list[dict], int]:
    """Run ``actions`` in a fork of ``env``; the trajectory and the number of steps run."""
    fork = env.fork()
    steps: list[dict] = []
    try:
        for action in actions:
            steps.append({"action": action, "observation": fork.step(action).to_dict()})
    finally:
        fork.close()
    return steps, len(steps)


def _legal_actions_after(env: Environment, actions: list[str]) -> list[str] | None:
    """The legal actions after ``actions`` (in a fork) when the action set is finite."""
    if not callable(getattr(env, "legal_actions", None)):
        return None
    fork = env.fork()
    try:
        for action in actions:
            fork.step(action)
        return legal_actions_of(fork)
    finally:
        fork.close()


class _Search:
    def __init__(self, job: Job, policy: Policy, budget: Budget) -> None:
        self.job, self.policy, self.budget = job, policy, budget
        self.settings = job.settings
        self.depth = job.settings.slinvit.horizon
        self.rollout_steps = 0
        self.nodes: list[Node] = []
        self.solved = False

    def expand(self, node: Node) -> None:
        """Sample k children of ``node`` and evaluate them (raises BudgetExhausted)."""
        node.expanded = True
        syntax = syntax_of(self.job.env)
        samples = self.policy.sample(
            action_messages(self.job, node.steps), self.settings.lats_k, self.budget
        )
        seen: set[str] = set()
        choices = _legal_actions_after(self.job.env, node.actions)
        last = normalize(node.actions[-1]) if node.actions and choices is None else None
        for sample in samples:
            action = action_of(sample.text, syntax, choices)
            if action is None:
                continue
            key = normalize(action)
            if key == last:
                action = key = SUBMIT
            if key in seen:
                continue
            seen.add(key)
            if action == SUBMIT:  # the parent's result is the answer: its value, no new call
                child = Node(node.actions, node.steps, node, value=node.value, terminal=True)
            else:
                child = self._evaluate(node, action)
            node.children.append(child)
            self.nodes.append(child)
            child.closed = child.terminal
            _backpropagate(child, child.value)
            if child.value >= 1.0:
                self.solved = True
                return
        if not node.children:
            node.closed = True
            _backpropagate(node, 0.0)

    def _evaluate(self, parent: Node, action: str) -> Node:
        actions = [*parent.actions, action]
        steps, ran = _simulate(self.job.env, actions)
        self.rollout_steps += ran
        ended = bool(steps) and bool(steps[-1]["observation"].get("terminal"))
        child = Node(actions, steps, parent, terminal=ended or len(actions) >= self.depth)
        env = self.job.env
        child.value = critic_value(
            self.policy,
            self.job.task.text,
            steps,
            syntax_of(env),
            self.budget,
            critic_rubric_of(env),
        )
        return child

    def best(self) -> Node | None:
        scored = [n for n in self.nodes if n.actions]
        if not scored:
            return None
        return max(scored, key=lambda n: (n.value, len(n.actions)))


def run(job: Job) -> MethodResult:
    settings = job.settings
    budget = settings.budget(time.time())
    search = _Search(job, make_policy(job, settings.temperature), budget)
    root = Node([], [])
    stop = "exhausted"
    while not search.solved:
        node = _select(root, settings.lats_exploration)
        if node is None:
            break
        if node.terminal or len(node.actions) >= search.depth:
            node.terminal = node.closed = True
            continue
        try:
            search.expand(node)
        except BudgetExhausted as exc:
            stop = exc.reason
            break
    else:
        stop = "solved"
    best = search.best()
    steps: list[dict] = []
    for action in best.actions if best is not None else []:
        run_real(job.env, action, steps)
    return MethodResult(
        steps=steps,
        usage=usage_from(budget.spent, env_steps=len(steps), rollout_steps=search.rollout_steps),
        oracle=False,
        details={
            "stop_reason": stop,
            "tree_nodes": len(search.nodes),
            "best_value": None if best is None else best.value,
        },
    )
