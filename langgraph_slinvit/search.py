"""The SLINVIT decision, top to bottom, in plain Python.

    propose   k distinct candidate actions a with P_LLM(a|s)           (proposal.propose)
    expand    breadth-first to depth N in forks of the environment     (expand_paths)
    roll out  M rollouts of the LLM policy from each leaf, in forks    (rollout_values)
    score     lam * sum_i P_LLM(a_i|s_i) + V_hat(leaf)                 (score_paths)
    select    the best path: its end state is the sub-goal            (select_best)
    go on?    with stop_when="no_gain", only if it beats a step in hand  (improves_on)

``evaluate_candidate`` is the work of one branch (one first action): the LangGraph layer runs one
branch per candidate in parallel with ``Send``; :func:`decide` runs them one after another. Every
simulated action runs in a fork; the real environment is only read (forked) here.
"""

from __future__ import annotations

import contextvars
import math
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from langgraph_slinvit.budget import Budget, BudgetExhausted
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.base import (
    Environment,
    Observation,
    critic_rubric_of,
    legal_actions_of,
    parallel_forks_of,
    syntax_of,
)
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.prompts import SUBMIT, proposal_messages
from langgraph_slinvit.proposal import Candidate, action_of, is_failure, normalize, propose
from langgraph_slinvit.records import (
    ActionStep,
    PathRecord,
    RolloutRecord,
    ScoredPath,
    StepRecord,
)
from langgraph_slinvit.value import ValueContext, ValueHook, critic_value, terminal_value


@dataclass
class Hooks:
    """Optional value sources: a rule-based value, and the benchmark's oracle reward."""

    value_fn: ValueHook | None = None
    oracle_reward: ValueHook | None = None


@dataclass
class SearchState:
    """The real state a decision starts from (plain data)."""

    task: str
    context: str
    steps: Sequence[ActionStep]
    """Real steps so far (``records.StepRecord`` in an episode)."""
    horizon_left: int
    """Real actions still allowed, this decision's included."""


def rollout_record(
    trajectory: Sequence[ActionStep], value: float, signature: str | None, source: str
) -> RolloutRecord:
    """The record of a rollout that reached the end of ``trajectory`` with this value."""
    return {
        "actions": [s["action"] for s in trajectory],
        "value": value,
        "signature": signature,
        "source": source,
        "output": trajectory[-1]["observation"]["output"] if trajectory else "",
    }


def apply_path(
    env: Environment, steps: Sequence[ActionStep], actions: Sequence[str]
) -> list[ActionStep]:
    """Run ``actions`` in ``env`` (a fork) and return the extended trajectory."""
    trajectory: list[ActionStep] = list(steps)
    for action in actions:
        if action == SUBMIT:
            break
        obs = env.step(action)
        trajectory.append({"action": action, "observation": obs.to_dict()})
    return trajectory


def _repeats(action: str, trajectory: Sequence[ActionStep], config: SlinvitConfig) -> bool:
    """True when ``action`` repeats the last action run (it then counts as SUBMIT)."""
    if not (config.repeat_means_submit and trajectory):
        return False
    return normalize(action) == normalize(trajectory[-1]["action"])


def _last_observation(trajectory: Sequence[ActionStep]) -> Observation | None:
    return Observation.from_dict(trajectory[-1]["observation"]) if trajectory else None


def is_terminal(trajectory: Sequence[ActionStep]) -> bool:
    """True when the last action of ``trajectory`` ended the episode (``Observation.terminal``)."""
    return bool(trajectory) and bool(trajectory[-1]["observation"].get("terminal"))


def _value_of(
    env: Environment, state: SearchState, trajectory: Sequence[ActionStep], hooks: Hooks
) -> RolloutRecord:
    ctx = ValueContext(
        task=state.task,
        actions=[s["action"] for s in trajectory],
        observation=_last_observation(trajectory),
        env=env,
    )
    tv = terminal_value(ctx, oracle_reward=hooks.oracle_reward, value_fn=hooks.value_fn)
    return rollout_record(trajectory, tv.value, tv.signature, tv.source)


def propose_here(
    policy: Policy,
    env: Environment,
    config: SlinvitConfig,
    *,
    task: str,
    context: str,
    steps: Sequence[ActionStep],
    budget: Budget,
    choices: Sequence[str] | None,
) -> list[Candidate]:
    """``propose`` for the state reached by ``steps`` in ``env`` with the config's k, n and
    P_LLM rule: the one proposal call the graph and the plain-Python search share."""
    return propose(
        policy,
        task=task,
        context=context,
        steps=steps,
        syntax=syntax_of(env),
        k=config.k,
        n=config.n_samples,
        rule=config.p_llm,
        budget=budget,
        repeat_means_submit=config.repeat_means_submit,
        choices=choices,
        reply_tokens=config.reply_tokens,
    )


def untried_candidates(
    candidates: Sequence[Candidate],
    choices: Sequence[str] | None,
    steps: Sequence[ActionStep],
    count: int,
    seed: int | None,
) -> list[Candidate]:
    """Up to ``count`` legal actions that neither ``steps`` took nor ``candidates`` name, drawn
    at random (P_LLM 0), the draw repeating for the same seed, step and actions; none without
    a finite action set (``choices`` None)."""
    if count <= 0 or not choices:
        return []
    used = {normalize(s["action"]) for s in steps} | {normalize(c.action) for c in candidates}
    pool = [c for c in choices if normalize(c) not in used]
    draw = random.Random(f"{seed or 0}:{len(steps)}:{'|'.join(pool)}")
    return [Candidate(a, 0.0, 0) for a in draw.sample(pool, min(count, len(pool)))]


def root_candidates(
    policy: Policy,
    env: Environment,
    config: SlinvitConfig,
    *,
    task: str,
    context: str,
    steps: Sequence[ActionStep],
    budget: Budget,
) -> list[Candidate]:
    """A decision's candidates: :func:`propose_here` for the real state, then the
    ``untried_candidates`` of the config (the graph and the plain-Python search share this)."""
    choices = legal_actions_of(env)
    proposed = propose_here(
        policy, env, config, task=task, context=context, steps=steps, budget=budget, choices=choices
    )
    extra = untried_candidates(proposed, choices, steps, config.untried_candidates, config.seed)
    return [*proposed, *extra]


def expand_paths(
    real_env: Environment,
    policy: Policy,
    state: SearchState,
    first: Candidate,
    config: SlinvitConfig,
    budget: Budget,
) -> list[list[Candidate]]:
    """Breadth-first expansion of ``first`` to ``config.depth`` actions: k proposed children per
    node, or every legal action (no request) with ``expand_from="legal"`` and a finite set."""
    frontier = [[first]]
    depth = min(config.depth, state.horizon_left)
    for _level in range(1, depth):
        grown: list[list[Candidate]] = []
        for path in frontier:
            if path[-1].is_submit:
                grown.append(path)
                continue
            fork = real_env.fork()
            try:
                trajectory = apply_path(fork, state.steps, [c.action for c in path])
                choices = legal_actions_of(fork)
            finally:
                fork.close()
            if is_terminal(trajectory):  # the episode ends here: nothing to expand
                grown.append(path)
                continue
            if config.expand_from == "legal" and choices is not None:
                grown += [[*path, Candidate(c, 0.0, 0)] for c in choices] or [path]
                continue
            children = propose_here(
                policy,
                real_env,
                config,
                task=state.task,
                context=state.context,
                steps=trajectory,
                budget=budget,
                choices=choices,
            )
            grown += [[*path, child] for child in children] or [path]
        frontier = grown
    return frontier


def rollout_values(
    leaf_env: Environment,
    policy: Policy,
    state: SearchState,
    trajectory: Sequence[ActionStep],
    steps_left: int,
    config: SlinvitConfig,
    budget: Budget,
    hooks: Hooks,
) -> tuple[list[RolloutRecord], str | None]:
    """Monte-Carlo: M rollouts of the LLM policy from the leaf, each in its own fork.

    The first action of all M rollouts comes from one request with n=M samples. A rollout ends
    on ``SUBMIT``, an unusable reply, or after ``steps_left`` actions; its value is the terminal
    value of its last observation. With ``rollout_legal_only`` and a finite action set, a sample
    that names no legal action gives no rollout, and a rollout ends before such an action.
    With ``rollout_workers`` > 1 and an environment whose forks
    may run at once (``parallel_forks()``), that many rollouts run at a time, in threads (the
    forks are made one after another first); the records keep the samples' order either way.
    Returns the rollouts and the budget that stopped them, if any.
    """
    syntax = syntax_of(leaf_env)
    if config.rollouts == 0 or steps_left <= 0 or is_terminal(trajectory):
        return [_value_of(leaf_env, state, trajectory, hooks)], None
    stopped: str | None = None
    try:
        budget.check_rollout()
        firsts = policy.sample(
            proposal_messages(state.task, state.context, trajectory, syntax),
            config.rollouts,
            budget,
            max_tokens=config.reply_tokens,
        )
    except BudgetExhausted as exc:
        firsts, stopped = [], exc.reason
    legal = legal_actions_of(leaf_env) if config.rollout_legal_only else None
    if legal is not None:  # the policy restricted to the legal actions: drop the others
        firsts = [s for s in firsts if action_of(s.text, syntax, legal) in legal]

    def one(env: Environment, first: str) -> tuple[RolloutRecord, str | None]:
        try:
            return roll_out(
                env, policy, state, trajectory, first, steps_left, config, budget, hooks
            )
        finally:
            env.close()

    results: list[RolloutRecord] = []
    workers = min(config.rollout_workers, len(firsts))
    if workers > 1 and parallel_forks_of(leaf_env):
        forks: list[Environment] = []
        try:
            for _ in firsts:
                budget.check_rollout()
                forks.append(leaf_env.fork())
        except BudgetExhausted as exc:
            stopped = exc.reason
        with ThreadPoolExecutor(workers, thread_name_prefix="slinvit-rollout") as pool:
            # each rollout in a copy of this context: the run's config (callbacks, tracing)
            # reaches the model calls made in the threads
            futures = [
                pool.submit(contextvars.copy_context().run, one, env, sample.text)
                for env, sample in zip(forks, firsts, strict=False)
            ]
            outcomes = [f.result() for f in futures]
        results = [record for record, _ in outcomes]
        stopped = stopped or next((why for _, why in outcomes if why), None)
    else:
        for sample in firsts:
            try:
                budget.check_rollout()
            except BudgetExhausted as exc:
                stopped = exc.reason
                break
            record, stopped = one(leaf_env.fork(), sample.text)
            results.append(record)
            if stopped:
                break
    if not results:  # no rollout ran: fall back to the leaf's own value
        results.append(_value_of(leaf_env, state, trajectory, hooks))
    return results, stopped


def roll_out(
    env: Environment,
    policy: Policy,
    state: SearchState,
    trajectory: Sequence[ActionStep],
    first: str,
    steps_left: int,
    config: SlinvitConfig,
    budget: Budget,
    hooks: Hooks,
) -> tuple[RolloutRecord, str | None]:
    """One rollout in the fork ``env`` (at the end of ``trajectory``), starting from the reply
    ``first``: the policy acts until SUBMIT, an unusable or repeated action, a terminal state or
    ``steps_left`` actions. Returns its record and the budget that stopped it, if any."""
    syntax = syntax_of(env)
    stopped: str | None = None
    rollout: list[ActionStep] = list(trajectory)
    choices = legal_actions_of(env)
    action = action_of(first, syntax, choices)
    for t in range(steps_left):
        if action is None or action == SUBMIT:
            break
        if choices is None and _repeats(action, rollout, config):
            break
        obs = env.step(action)
        budget.record(rollout_steps=1)
        rollout.append({"action": action, "observation": obs.to_dict()})
        if t + 1 == steps_left or obs.terminal:
            break
        try:
            reply = policy.sample(
                proposal_messages(state.task, state.context, rollout, syntax),
                1,
                budget,
                max_tokens=config.reply_tokens,
            )
        except BudgetExhausted as exc:
            stopped = exc.reason
            break
        choices = legal_actions_of(env)
        action = action_of(reply[0].text, syntax, choices) if reply else None
        if config.rollout_legal_only and choices is not None and action not in choices:
            break  # the rollout ends before an action that is not legal
    record = _value_of(env, state, rollout, hooks)
    budget.record(rollouts=1)
    return record, stopped


def evaluate_path(
    real_env: Environment,
    policy: Policy,
    state: SearchState,
    path: Sequence[Candidate],
    config: SlinvitConfig,
    budget: Budget,
    hooks: Hooks,
    *,
    roll_out_here: bool = True,
    ask_critic: bool = True,
) -> PathRecord:
    """Value one leaf path: run it in a fork, then roll out from its end (and ask the critic).
    ``roll_out_here=False`` values the leaf where it stands (no rollout); ``ask_critic=False``
    leaves the critic out (``critic`` is None)."""
    actions = [c.action for c in path]
    fork = real_env.fork()
    critic = None
    try:
        trajectory = apply_path(fork, state.steps, actions)
        taken = sum(1 for a in actions if a != SUBMIT)
        ended = actions[-1] == SUBMIT or is_terminal(trajectory) or not roll_out_here
        steps_left = 0 if ended else state.horizon_left - taken
        steps_left = min(steps_left, config.rollout_horizon)
        rollouts, stopped = rollout_values(
            fork, policy, state, trajectory, steps_left, config, budget, hooks
        )
        if ask_critic and config.value != "feedback" and hooks.oracle_reward is None:
            try:
                critic = critic_value(
                    policy,
                    state.task,
                    trajectory,
                    syntax_of(fork),
                    budget,
                    critic_rubric_of(fork),
                )
            except BudgetExhausted as exc:
                stopped = stopped or exc.reason
    finally:
        fork.close()
    first = trajectory[len(state.steps)] if len(trajectory) > len(state.steps) else None
    return {
        "actions": actions,
        "p_llm": [c.p_llm for c in path],
        "leaf_output": trajectory[-1]["observation"]["output"] if trajectory else None,
        "rollouts": rollouts,
        "critic": critic,
        "stopped_by": stopped,
        "failed": first is not None and is_failure(first["observation"]),
    }


def evaluate_candidate(
    real_env: Environment,
    policy: Policy,
    state: SearchState,
    first: Candidate,
    config: SlinvitConfig,
    budget: Budget,
    hooks: Hooks,
) -> list[PathRecord]:
    """One branch: expand ``first`` to depth N, then value every leaf by rollouts (and critic).
    With ``rollout_leaves`` = R, every leaf is valued where it stands first, and only the R best
    are rolled out (their own value kept as one more record)."""
    try:
        paths = expand_paths(real_env, policy, state, first, config, budget)
    except BudgetExhausted as exc:
        paths, stopped = [[first]], exc.reason
    else:
        stopped = None
    selective = config.rollouts > 0 and 0 < config.rollout_leaves < len(paths)
    results = []
    for path in paths:
        result = evaluate_path(
            real_env, policy, state, path, config, budget, hooks, roll_out_here=not selective
        )
        result["stopped_by"] = stopped or result["stopped_by"]
        results.append(result)
    if selective:
        for i in leaves_to_roll_out(results, config.rollout_leaves):
            rolled = evaluate_path(
                real_env, policy, state, paths[i], config, budget, hooks, ask_critic=False
            )
            here = results[i]["rollouts"]
            if rolled["rollouts"] != here:  # else no rollout ran (a terminal leaf, a budget)
                results[i]["rollouts"] = here + rolled["rollouts"]
            results[i]["stopped_by"] = results[i]["stopped_by"] or rolled["stopped_by"]
    return results


def leaves_to_roll_out(leaves: Sequence[PathRecord], r: int) -> list[int]:
    """The indices of the ``r`` leaves valued highest where they stand (ties: the more
    probable path, then the earlier one), in their original order."""

    def key(i: int) -> tuple[float, float, int]:
        return (max(x["value"] for x in leaves[i]["rollouts"]), sum(leaves[i]["p_llm"]), -i)

    return sorted(sorted(range(len(leaves)), key=key, reverse=True)[:r])


def score_paths(paths: Sequence[PathRecord], config: SlinvitConfig) -> list[ScoredPath]:
    """``lam * sum P_LLM + V_hat`` for every path (as :func:`evaluate_path` makes them).

    The Monte-Carlo V_hat is the mean (``rollout_aggregate="max"``: the maximum) over a path's
    rollouts of ``value + w * agreement``, where
    agreement is the policy's probability mass on the paths with a rollout reaching the same
    result (each path weighted by the product of its P_LLM, normalised over all paths, itself
    included), so a result every sample proposes has agreement 1 (execution-based
    self-consistency). Oracle and rule values carry no signature, so they get no agreement term.
    """
    reached = [{r["signature"] for r in p["rollouts"] if r["signature"]} for p in paths]
    scored: list[ScoredPath] = []
    for i, path in enumerate(paths):
        values = []
        for r in path["rollouts"]:
            sig = r["signature"]
            agree = _agreement_by_mass(i, sig, reached, paths) if sig else 0.0
            values.append(r["value"] + config.agreement_weight * agree)
        if not values:
            monte_carlo = 0.0
        elif config.rollout_aggregate == "max":
            monte_carlo = max(values)
        else:
            monte_carlo = sum(values) / len(values)
        critic = path.get("critic")
        if critic is None:
            v_hat = monte_carlo
        elif config.value == "critic":
            v_hat = critic
        else:
            v_hat = (monte_carlo + critic) / 2
        prior = config.lam * sum(path["p_llm"])
        scored.append(
            ScoredPath(
                **path,
                v_hat=round(v_hat, 4),
                prior=round(prior, 4),
                score=round(prior + v_hat, 4),
            )
        )
    return scored


def _agreement_by_mass(
    i: int, sig: str, reached: list[set[str]], paths: Sequence[PathRecord]
) -> float:
    weights = [math.prod(p["p_llm"]) if p["p_llm"] else 0.0 for p in paths]
    total = sum(weights)
    if total <= 0:  # no prior mass at all: every path counts the same
        weights, total = [1.0] * len(paths), float(len(paths))
    return sum(w for w, sigs in zip(weights, reached, strict=True) if sig in sigs) / total


def select_best(scored: Sequence[ScoredPath]) -> ScoredPath | None:
    """The highest-scoring path (ties: the more probable one, then the earlier one)."""
    if not scored:
        return None
    return max(enumerate(scored), key=lambda it: (it[1]["score"], sum(it[1]["p_llm"]), -it[0]))[1]


def values_first_step(path: PathRecord, steps_before: int) -> bool:
    """True when a path's V_hat is the value of the state its first action reaches: the path
    ends there (depth 1, or SUBMIT after) and no rollout went further (none ran, or each
    stopped at once), so the value is of that real step's own result, not of a state ahead."""
    if any(a != SUBMIT for a in path["actions"][1:]):
        return False
    return all(len(r["actions"]) <= steps_before + 1 for r in path["rollouts"])


def improves_on(best: ScoredPath, steps: Sequence[StepRecord]) -> bool:
    """True when the chosen path's V_hat is above the value of every result in hand: the real
    steps whose decision valued the state they reached (``value_here``). A value of a state
    further ahead (depth > 1, or rollouts past the leaf) is not in hand: reaching it is what
    the next steps do."""
    held = [s["value"] for s in steps if s.get("value_here") and s.get("value") is not None]
    return not held or best["v_hat"] > max(held)


def decide(
    real_env: Environment,
    policy: Policy,
    state: SearchState,
    config: SlinvitConfig,
    budget: Budget,
    hooks: Hooks | None = None,
) -> tuple[ScoredPath | None, list[ScoredPath]]:
    """One full SLINVIT decision without LangGraph: the chosen path and every scored path."""
    hooks = hooks or Hooks()
    candidates = root_candidates(
        policy,
        real_env,
        config,
        task=state.task,
        context=state.context,
        steps=state.steps,
        budget=budget,
    )
    paths: list[PathRecord] = []
    for cand, share in zip(candidates, budget.split(len(candidates)), strict=True):
        paths += evaluate_candidate(real_env, policy, state, cand, config, share, hooks)
        budget.record(**share.spent)
    scored = score_paths(paths, config)
    return select_best(scored), scored
