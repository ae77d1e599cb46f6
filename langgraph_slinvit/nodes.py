"""The graph's nodes: each one step of an episode, calling the plain-Python core.

``SlinvitNodes`` holds what every node needs (the environment, the policy, the settings, the
value sources, the action journal); the graph (:mod:`langgraph_slinvit.graph`) only wires its
methods. Every method is a thin adapter from graph state to a function of
:mod:`langgraph_slinvit.search`, :mod:`langgraph_slinvit.episode` or
:mod:`langgraph_slinvit.conversation`, and back.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import replace
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Overwrite, Send, interrupt

from langgraph_slinvit import episode
from langgraph_slinvit.budget import (
    Budget,
    BudgetExhausted,
    budget_from_record,
    budget_record,
    empty_usage,
    remaining_budget,
)
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.conversation import earlier_turns, history_block, task_of, turn_record
from langgraph_slinvit.envs.base import (
    ActionSyntax,
    Environment,
    Observation,
    needs_approval_of,
    syntax_of,
)
from langgraph_slinvit.journal import ActionJournal
from langgraph_slinvit.paths import cache_root
from langgraph_slinvit.policy import ModelEndpointError, Policy
from langgraph_slinvit.prompts import summary_messages
from langgraph_slinvit.proposal import Candidate
from langgraph_slinvit.search import (
    Hooks,
    SearchState,
    evaluate_candidate,
    root_candidates,
    score_paths,
    select_best,
)
from langgraph_slinvit.state import BranchState, SlinvitState

RUN_OVERRIDES = ("k", "depth", "rollouts", "horizon", "rollout_horizon", "lam", "samples")
"""Settings a run may override through its context (``invoke(..., context={"k": 2})``)."""


def emit(event: dict[str, Any]) -> None:
    """Send a custom stream event (``stream_mode="custom"``); a no-op outside a stream."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer(event)


def default_journal_path() -> str:
    return str(cache_root() / "journal.sqlite")


def journal_key(thread_id: str, started_at: float, decision: int, action: str) -> str:
    """The journal key of a real action: its thread, episode, decision and the action itself, so
    a replay (after a crash or time travel) only ever returns the result of the same action."""
    digest = hashlib.sha256(action.encode()).hexdigest()[:16]
    return f"{thread_id}/{started_at!r}/{decision}/{digest}"


def thread_of(runtime: Runtime | None) -> str | None:
    """The run's thread id when it runs with a checkpointer (None without persistence)."""
    info = getattr(runtime, "execution_info", None) if runtime is not None else None
    return info.thread_id if info is not None else None


def run_overrides(context: Any) -> dict[str, Any]:
    """The settings a run's context overrides (a mapping or an object with those attributes)."""
    if context is None:
        return {}
    if isinstance(context, dict):
        found = {k: context[k] for k in RUN_OVERRIDES if context.get(k) is not None}
    else:
        found = {
            k: getattr(context, k) for k in RUN_OVERRIDES if getattr(context, k, None) is not None
        }
    return found


class SlinvitNodes:
    """The nodes of one SLINVIT agent (see the module docstring)."""

    def __init__(
        self,
        env: Environment,
        policy: Policy,
        settings: SlinvitConfig,
        hooks: Hooks,
        *,
        system_prompt: str | None = None,
        name: str | None = None,
        response_format: Any = None,
    ) -> None:
        self.env = env
        self.policy = policy
        self.settings = settings
        self.hooks = hooks
        self.system_prompt = system_prompt
        self.name = name
        self.response_format = response_format
        self._journals: dict[str, ActionJournal] = {}

    @property
    def syntax(self) -> ActionSyntax:
        """How the environment's actions are written (read when needed: a lazy environment
        answers without being built)."""
        return syntax_of(self.env)

    # -- helpers ------------------------------------------------------------------------------

    def settings_for(self, runtime: Runtime | None) -> SlinvitConfig:
        """This run's settings: the agent's, with the run context's overrides."""
        overrides = run_overrides(getattr(runtime, "context", None))
        return replace(self.settings, **overrides) if overrides else self.settings

    def budget(self, state: SlinvitState, settings: SlinvitConfig) -> Budget:
        limits = {
            "max_llm_calls": settings.max_llm_calls,
            "max_tokens": settings.max_tokens,
            "max_seconds": settings.max_seconds,
            "max_rollouts": settings.max_rollouts,
        }
        return remaining_budget(limits, state.get("usage", {}), state["started_at"])

    def journal(self) -> ActionJournal:
        path = self.settings.journal_path or default_journal_path()
        if path not in self._journals:
            self._journals[path] = ActionJournal(path)
        return self._journals[path]

    def execute(self, action: str, key: str | None) -> Observation:
        """Run a real action once: journaled and, for writes, approved when resumable."""
        if key is None:
            return self.env.step(action)
        status, saved = self.journal().lookup(key)
        if status == "done" and saved is not None:
            emit({"type": "replayed", "action": action})
            return Observation.from_dict(saved)
        if status == "started":
            return Observation(
                output="This action was interrupted by a crash in an earlier attempt and was "
                "not run again; its effect is unknown.",
                ok=False,
                error="interrupted earlier",
            )
        if self.settings.approve_writes and needs_approval_of(self.env, action):
            answer = interrupt(
                {
                    "type": "approve_action",
                    "action": action,
                    "question": "This action changes data. Run it?",
                }
            )
            approved = answer.get("approved") if isinstance(answer, dict) else answer
            if approved is not True:
                return Observation(
                    output="Refused: the user did not approve this action.",
                    ok=False,
                    refused=True,
                    error="not approved",
                )
        self.journal().begin(key, action)
        obs = self.env.step(action)
        self.journal().finish(key, obs.to_dict())
        return obs

    # -- nodes ---------------------------------------------------------------------------------

    def start(self, state: SlinvitState) -> dict:
        """A new episode: the newest user message is the task, earlier turns are context."""
        messages = state["messages"]
        task = task_of(messages)
        parts = [self.system_prompt or "", self.env.describe()]
        turns = earlier_turns(messages, state.get("turns") or [])
        parts.append(history_block(turns, self.syntax, self.settings.history_tokens))
        return {
            "task": task,
            "context": "\n\n".join(p for p in parts if p),
            "steps": [],
            "decision": 0,
            "candidates": [],
            "paths": Overwrite([]),
            "scored": [],
            "chosen": None,
            "tree": Overwrite([{"id": "root", "parent": None, "kind": "task", "text": task}]),
            "usage": Overwrite(empty_usage()),
            "started_at": time.time(),
            "done": False,
            "stop_reason": "",
            "answer": "",
            "turns": turns,
        }

    def propose(self, state: SlinvitState, runtime: Runtime) -> dict:
        """k candidate actions for the current state (one request with n samples)."""
        settings = self.settings_for(runtime)
        decision = state["decision"]
        if episode.horizon_reached(decision, settings):
            return {"done": True, "stop_reason": "horizon", "paths": Overwrite([])}
        budget = self.budget(state, settings)
        try:
            candidates = root_candidates(
                self.policy,
                self.env,
                settings,
                task=state["task"],
                context=state["context"],
                steps=state["steps"],
                budget=budget,
            )
        except BudgetExhausted as exc:
            return {
                "done": True,
                "stop_reason": exc.reason,
                "usage": budget.spent,
                "paths": Overwrite([]),
            }
        records = [c.to_dict() for c in candidates]
        emit({"type": "candidates", "decision": decision, "candidates": records})
        update: dict[str, Any] = {
            "candidates": records,
            "usage": budget.spent,
            "paths": Overwrite([]),
        }
        if not candidates:
            step = episode.no_action_step(decision)
            update.update(steps=[*state["steps"], step], decision=decision + 1)
        return update

    def route_after_propose(
        self, state: SlinvitState, runtime: Runtime
    ) -> list[Send] | Literal["respond", "propose"]:
        """One ``rollout`` branch per candidate (in parallel), or on to the answer."""
        if state.get("done"):
            return "respond"
        candidates = state.get("candidates") or []
        if not candidates:
            return "propose"
        settings = self.settings_for(runtime)
        shares = self.budget(state, settings).split(len(candidates))
        base = {
            "task": state["task"],
            "context": state["context"],
            "steps": state["steps"],
            "horizon_left": settings.horizon - state["decision"],
            "decision": state["decision"],
        }
        return [
            Send("rollout", BranchState(**base, candidate=cand, budget=budget_record(share)))
            for cand, share in zip(candidates, shares, strict=True)
        ]

    def rollout(self, branch: BranchState, runtime: Runtime) -> dict:
        """One branch: expand its candidate to depth N and value every leaf by M rollouts."""
        search_state = SearchState(
            task=branch["task"],
            context=branch["context"],
            steps=branch["steps"],
            horizon_left=branch["horizon_left"],
        )
        budget = budget_from_record(branch["budget"])
        paths = evaluate_candidate(
            self.env,
            self.policy,
            search_state,
            Candidate.from_dict(branch["candidate"]),
            self.settings_for(runtime),
            budget,
            self.hooks,
        )
        return {"paths": paths, "usage": budget.spent}

    def score(self, state: SlinvitState, runtime: Runtime) -> dict:
        """``lam * sum P_LLM + V_hat`` for every path the branches brought back."""
        done = len(state["steps"])
        paths = state.get("paths") or []
        for path in paths:
            emit(
                {
                    "type": "rollout",
                    "decision": state["decision"],
                    "path": path["actions"],
                    "rollouts": [
                        {"actions": r["actions"][done:], "value": r["value"]}
                        for r in path["rollouts"]
                    ],
                }
            )
        scored = score_paths(paths, self.settings_for(runtime))
        emit(
            {
                "type": "scores",
                "decision": state["decision"],
                "paths": [
                    {
                        "actions": p["actions"],
                        "prior": p["prior"],
                        "v_hat": p["v_hat"],
                        "score": p["score"],
                    }
                    for p in scored
                ],
            }
        )
        return {"scored": scored}

    def select(self, state: SlinvitState) -> dict:
        """The best path: its first action is the sub-goal's next real action."""
        scored = state.get("scored") or []
        best = select_best(scored)
        if best is not None:
            emit(
                {
                    "type": "choice",
                    "decision": state["decision"],
                    "actions": best["actions"],
                    "score": best["score"],
                }
            )
        return {"chosen": best, "tree": episode.tree_nodes(state["decision"], scored, best)}

    def act(self, state: SlinvitState, runtime: Runtime) -> dict:
        """Run the chosen action for real (journaled, approved), unless the episode stops."""
        settings = self.settings_for(runtime)
        best, decision = state.get("chosen"), state["decision"]
        if best is None:  # every branch failed before producing a path
            return {"decision": decision + 1}
        stop = episode.stop_before_acting(best, state["steps"], settings)
        if stop:
            kind = "submit" if stop == "submitted" else stop
            emit(
                {
                    "type": kind,
                    "decision": decision,
                    "actions": best["actions"],
                    "v_hat": best["v_hat"],
                }
            )
            return {"done": True, "stop_reason": stop, "decision": decision + 1}
        thread = thread_of(runtime)
        steps = list(state["steps"])
        stop = ""
        for i, action in enumerate(episode.actions_to_run(best, settings)):
            # the same action twice in one path gets its own journal entry
            label = action if i == 0 else f"{action}\x00{i}"
            key = journal_key(thread, state["started_at"], decision, label) if thread else None
            obs = self.execute(action, key)
            step = episode.step_record(action, obs, decision, best, len(steps), first=i == 0)
            emit({"type": "action", "decision": decision, "action": action, "output": obs.output})
            steps.append(step)
            stop = episode.stop_after_acting(step, obs, settings)
            if stop:
                break
        update: dict[str, Any] = {
            "steps": steps,
            "decision": decision + 1,
            "usage": {"env_steps": len(steps) - len(state["steps"])},
        }
        if stop:
            update.update(done=True, stop_reason=stop)
        return update

    def route_after_act(self, state: SlinvitState) -> Literal["propose", "respond"]:
        return "respond" if state.get("done") else "propose"

    def respond(self, state: SlinvitState, config: RunnableConfig) -> dict:
        """The answer, resting on one real step; a summary call phrases it when enabled."""
        steps = state.get("steps") or []
        index = episode.answer_index(steps, self.env, self.settings.answer_from)
        answer_step = steps[index] if index is not None else None
        reason = episode.final_stop_reason(state.get("stop_reason") or "horizon", answer_step)
        spent: dict[str, float] = {}
        summary = ""
        if answer_step is not None and self.settings.summarize_answer:
            budget = self.budget(state, self.settings)
            messages = summary_messages(
                state["task"],
                answer_step["action"],
                answer_step["observation"]["output"],
                self.syntax,
            )
            # on failure the rendered result alone is still a complete answer
            with contextlib.suppress(BudgetExhausted, ModelEndpointError):
                summary = self.policy.answer(messages, budget, config=config).strip()
            spent = budget.spent
        text = episode.answer_text(answer_step, reason, self.syntax, summary)
        elapsed = round(time.time() - state["started_at"], 3)
        seconds = elapsed - state.get("usage", {}).get("seconds", 0)
        emit({"type": "answer", "text": text, "stop_reason": reason})
        update: dict[str, Any] = {
            "messages": [AIMessage(text, name=self.name)],
            "answer": text,
            "answer_step": index,
            "stop_reason": reason,
            "usage": {**spent, "seconds": seconds},
            "turns": [*(state.get("turns") or []), turn_record(state["task"], steps, text)],
        }
        if self.response_format is not None:
            update["structured_response"] = self.structured(state["task"], text, config)
        return update

    def structured(self, task: str, answer: str, config: RunnableConfig) -> Any:
        """The answer in the caller's ``response_format`` (the model's structured output)."""
        from langchain_core.messages import HumanMessage

        model = self.policy.model.with_structured_output(self.response_format)
        prompt = f"Task: {task}\n\nAnswer:\n{answer}\n\nGive this answer in the requested format."
        return model.invoke([HumanMessage(prompt)], config)
