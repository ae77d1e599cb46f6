"""BlocksWorld as a SLINVIT :class:`~langgraph_slinvit.envs.base.Environment`.

Actions are plain sentences in the phrasing of the gold plans' natural-language rendering
(``bw_config.yaml``), e.g. ``unstack the red block from on top of the blue block``. ``step``
accepts them case-insensitively, with a trailing period or a leading list bullet, and also the
PDDL form, with letters or colours as block names: ``(unstack a b)``, ``(unstack red blue)``.

* ``describe()`` and every observation show the current state, the goal and the currently
  LEGAL actions in the exact phrasing, so a small model can copy one.
* An illegal or unparsable action leaves the state unchanged and returns ``ok=False``.
* Reaching the goal ends the episode (``Observation.terminal``); ``legal_actions()`` gives the
  finite action set the search proposes from.
* ``feedback_value`` is the rule value of SLINVIT.md (:func:`~.blocksworld.rule_value`) scaled
  into ``[0, 1]`` (1.0 exactly when the goal holds); an illegal action's observation is worth 0.
* :func:`rule_value_hook` is the same value as a non-oracle ``value_fn`` hook, and
  :func:`success` VALIDATES the executed plan against the PDDL rules from the initial state (it
  never trusts a state predicted by a model; SLINVIT.md pitfall 4).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from langgraph_slinvit.bench.task_envs.blocksworld_pddl import (
    Action,
    BlocksProblem,
    BlocksState,
    BWConfig,
    IllegalActionError,
    apply,
    legal_actions,
    load_bw_config,
    parse_action_text,
    problem_for_task,
    render_action,
    render_atoms,
    render_goal,
    render_state,
    rule_value,
    validate_plan,
)
from langgraph_slinvit.bench.tasks import BlocksWorldTask
from langgraph_slinvit.envs.base import TEXT_SYNTAX, Observation

if TYPE_CHECKING:
    from langgraph_slinvit.config import SlinvitConfig
    from langgraph_slinvit.value import ValueContext

__all__ = [
    "BlocksWorldEnvironment",
    "rule_value_hook",
    "state_signature",
    "success",
]

_OP_ALIASES = {"pickup": "pick-up", "putdown": "put-down"}
_BULLET = re.compile(r"^\s*(?:[-*]|\d+[.)])\s+")


def state_signature(state: BlocksState) -> str:
    """Canonical text of a state: its sorted atoms in PDDL form, e.g. ``(clear a) (handempty)``."""
    return " ".join("(" + " ".join(atom) + ")" for atom in sorted(state.facts))


class BlocksWorldEnvironment:
    """One BlocksWorld problem: a state machine over the 4-operator PDDL domain.

    Args:
        problem: a parsed :class:`~.blocksworld.BlocksProblem` or a
            :class:`~.data.BlocksWorldTask` (its PDDL instance is loaded).
        config: the natural-language templates (default: the shared ``bw_config.yaml``).
        goal_bonus: the rule value's bonus when the goal holds (SLINVIT's "large bonus").
        show_intro: include the domain's rules (``domain_intro`` of the config) in ``describe()``.
    """

    language = "text"
    action_syntax = TEXT_SYNTAX

    def __init__(
        self,
        problem: BlocksProblem | BlocksWorldTask,
        *,
        config: BWConfig | None = None,
        goal_bonus: float = 10.0,
        show_intro: bool = True,
    ) -> None:
        self.problem = problem if isinstance(problem, BlocksProblem) else problem_for_task(problem)
        self.config = config or load_bw_config()
        self.goal_bonus = goal_bonus
        self.show_intro = show_intro
        self.state: BlocksState = self.problem.init
        self.plan: list[Action] = []
        """The legal actions applied so far, in order (illegal attempts are not part of it)."""
        self._names = {v.lower(): k for k, v in self.config.encoded_objects.items()}
        # rule_value ranges over [-(blocks that can sit on another block), |goal| + bonus]
        self._v_min = -float(max(0, len(self.problem.blocks) - 1))
        self._v_max = len(self.problem.goal) + goal_bonus

    # -- queries ------------------------------------------------------------------------------
    @property
    def goal_reached(self) -> bool:
        """True when every goal atom holds in the current state."""
        return self.problem.is_goal(self.state)

    def legal_action_texts(self) -> list[str]:
        """The actions applicable now, in the exact phrasing ``step`` expects."""
        return [render_action(a, self.config) for a in legal_actions(self.state)]

    def legal_actions(self) -> list[str]:
        """The finite action set of the current state (the optional environment method that
        maps proposals onto legal actions); the same as :meth:`legal_action_texts`."""
        return self.legal_action_texts()

    def rule_value(self) -> float:
        """The raw rule value of the current state (:func:`~.blocksworld.rule_value`)."""
        return rule_value(self.state, self.problem.goal, goal_bonus=self.goal_bonus)

    def value(self) -> float:
        """The rule value scaled into [0, 1]: ``(v - v_min) / (v_max - v_min)``; 1.0 iff goal."""
        if self.goal_reached:
            return 1.0
        scaled = (self.rule_value() - self._v_min) / (self._v_max - self._v_min)
        return max(0.0, min(scaled, 1.0))

    def validate(self) -> tuple[bool, str]:
        """Re-check the executed plan from the initial state (``validate_plan``)."""
        return validate_plan(self.problem, self.plan)

    def parse(self, action: str) -> Action:
        """The action a sentence or PDDL form names; ValueError if it names none."""
        text = _BULLET.sub("", action.strip().strip("`").strip())
        if text.startswith("("):
            return self._parse_pddl(text)
        try:
            return parse_action_text(text, self.config)
        except ValueError:
            first = text.split(maxsplit=1)[0].lower() if text.split() else ""
            if _OP_ALIASES.get(first, first) in self.problem.domain:
                return self._parse_pddl(text)  # the bare form: ``unstack d a``
            raise

    def _parse_pddl(self, text: str) -> Action:
        parts = text.strip().rstrip(".").strip().strip("()").lower().replace("_", "-").split()
        if not parts:
            raise ValueError(f"empty action {text!r}")
        name = _OP_ALIASES.get(parts[0], parts[0])
        args = []
        for token in parts[1:]:
            if token in ("the", "block"):
                continue
            if token in self.problem.blocks:
                args.append(token)
            elif f"{token} block" in self._names:
                args.append(self._names[f"{token} block"])
            else:
                raise ValueError(f"unknown block {token!r} in {text!r}")
        return Action(name, tuple(args))

    # -- the protocol -------------------------------------------------------------------------
    @classmethod
    def default_settings(cls) -> SlinvitConfig:
        """The ``blocksworld`` preset: the settings that solve BlocksWorld puzzles best
        in the published benchmark (``langgraph_slinvit.presets``)."""
        from langgraph_slinvit.presets import preset

        return preset("blocksworld")

    def describe(self) -> str:
        """Rules (optional), current state, goal and the currently legal actions."""
        intro = self.config.domain_intro.strip() + "\n\n" if self.show_intro else ""
        return (
            f"{intro}{self._state_text()}\n"
            "Reply with exactly one action per step, copied from the legal actions."
        )

    def _state_text(self) -> str:
        legal = "\n".join(f"- {a}" for a in self.legal_action_texts()) or "(none)"
        reached = "yes" if self.goal_reached else "no"
        return (
            f"Current state: {render_state(self.state, self.config)}.\n"
            f"Goal: {render_goal(self.problem, self.config)}.\n"
            f"Goal reached: {reached}. Actions taken: {len(self.plan)}.\n"
            f"Legal actions now:\n{legal}"
        )

    def step(self, action: str) -> Observation:
        """Apply one action if it is legal; otherwise report why and leave the state unchanged."""
        try:
            parsed = self.parse(action)
        except ValueError:
            return self._illegal(action, f"could not parse {action.strip()!r} as an action")
        try:
            new_state = apply(self.state, parsed, self.problem.domain)
        except IllegalActionError as err:
            return self._illegal(action, self._why_illegal(parsed, err))
        self.state = new_state
        self.plan.append(parsed)
        done = self.goal_reached
        head = f"Done: {render_action(parsed, self.config)}."
        if done:
            head += " The goal is reached."
        return Observation(
            output=f"{head}\n{self._state_text()}",
            ok=True,
            signature=state_signature(self.state),
            terminal=done,
            details={
                "goal_reached": done,
                "plan_length": len(self.plan),
                "action": str(parsed),
                "rule_value": self.rule_value(),
                "value": self.value(),
            },
        )

    def _why_illegal(self, action: Action, err: IllegalActionError) -> str:
        op = self.problem.domain.get(action.name)
        if op is None or len(action.args) != len(op.params):
            return str(err)
        if any(a not in self.problem.blocks for a in action.args):
            return str(err)
        pre, _, _ = op.ground(action.args)
        missing = pre - self.state.facts
        if not missing:
            return str(err)
        needs = render_atoms(missing, self.config)
        return f"{render_action(action, self.config)} needs that {needs}"

    def _illegal(self, action: str, reason: str) -> Observation:
        legal = "; ".join(self.legal_action_texts()) or "(none)"
        return Observation(
            output=f"Illegal action: {reason}. The state is unchanged. Legal actions: {legal}",
            ok=False,
            error=reason,
            signature=state_signature(self.state),
            details={
                "goal_reached": self.goal_reached,
                "plan_length": len(self.plan),
                "illegal": True,
                "rule_value": self.rule_value(),
                "value": self.value(),
            },
        )

    def parallel_forks(self) -> bool:
        """Forks may run at once: each holds its own state and plan."""
        return True

    def fork(self) -> BlocksWorldEnvironment:
        """A copy of the current state and plan (states are immutable: this is cheap)."""
        clone = object.__new__(BlocksWorldEnvironment)
        clone.__dict__.update(self.__dict__)
        clone.plan = list(self.plan)
        return clone

    def feedback_value(self, obs: Observation) -> float:
        """The scaled rule value of the state an observation reports; 0 for an illegal action."""
        if not obs.ok or obs.timed_out or obs.refused:
            return 0.0
        value = obs.details.get("value")
        return float(value) if value is not None else 0.0

    def close(self) -> None:
        """Nothing to release."""


def rule_value_hook(ctx: ValueContext) -> float:
    """Non-oracle ``value_fn``: the scaled rule value of the terminal fork's state."""
    env = ctx.env
    if not isinstance(env, BlocksWorldEnvironment):
        raise TypeError("rule_value_hook needs a BlocksWorldEnvironment")
    return env.value()


def success(env: BlocksWorldEnvironment) -> bool:
    """True when the executed plan is VALID from the initial state and reaches the goal."""
    ok, _reason = env.validate()
    return ok
