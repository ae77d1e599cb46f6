"""The SLINVIT agent as a LangGraph graph: one node per step of the method.

    start -> propose -(Send, one branch per candidate)-> rollout -> score -> select -> act
             ^                                                                          |
             +---------------------- until submit / no gain / horizon / budget ----------+-> respond

The environment and the model live in the closure of the nodes, never in the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Overwrite, Send, interrupt

from langgraph_slinvit.budget import Budget, BudgetExhausted, empty_usage, remaining_budget
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.base import Environment, Observation, legal_actions_of
from langgraph_slinvit.journal import ActionJournal
from langgraph_slinvit.paths import cache_root
from langgraph_slinvit.policy import ModelEndpointError, Policy
from langgraph_slinvit.prompts import SUBMIT, summary_messages
from langgraph_slinvit.proposal import Candidate, is_failure
from langgraph_slinvit.search import (
    Hooks,
    SearchState,
    evaluate_path,
    expand_paths,
    improves_on,
    propose_here,
    score_paths,
    select_best,
    values_first_step,
)
from langgraph_slinvit.state import (
    BranchState,
    InputState,
    OutputState,
    RolloutOutput,
    RolloutState,
    SlinvitState,
)
from langgraph_slinvit.value import ValueHook


def _emit(event: dict[str, Any]) -> None:
    """Send a custom stream event (``stream_mode="custom"``); a no-op outside a stream."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer(event)


def _run_context() -> tuple[bool, str | None]:
    """Whether this run has a checkpointer, and its thread id."""
    try:
        configurable = get_config().get("configurable", {})
    except RuntimeError:
        return False, None
    has_checkpointer = configurable.get("__pregel_checkpointer") is not None
    return has_checkpointer, configurable.get("thread_id")


def _default_journal_path() -> str:
    return str(cache_root() / "journal.sqlite")


def _task_of(messages: list) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            content = message.content
            return content if isinstance(content, str) else str(content)
    raise ValueError("the SLINVIT agent needs a user message with the task")


def build_slinvit_graph(
    model: BaseChatModel | Callable[[], BaseChatModel],
    env: Environment,
    *,
    config: SlinvitConfig | None = None,
    value_fn: ValueHook | None = None,
    oracle_reward: ValueHook | None = None,
) -> StateGraph:
    """The uncompiled SLINVIT ``StateGraph`` (messages in, messages out) for composition.

    Args:
        model: any LangChain chat model (or a zero-argument factory of one).
        env: the environment actions run in; rollouts run only in its forks.
        config: the method's knobs and budgets.
        value_fn: an optional rule-based value of a state (non-oracle).
        oracle_reward: the task's gold-answer reward, for benchmarks only. A run with it is an
            *oracle* run and must be reported as such.
    """
    cfg = config or SlinvitConfig()
    policy = Policy(
        model,
        temperature=cfg.temperature,
        want_logprobs=cfg.p_llm != "agreement",
        retries=cfg.retries,
        backoff=cfg.retry_backoff,
        seed=cfg.seed,
    )
    hooks = Hooks(value_fn=value_fn, oracle_reward=oracle_reward)
    journals: dict[str, ActionJournal] = {}

    def journal() -> ActionJournal:
        path = cfg.journal_path or _default_journal_path()
        if path not in journals:
            journals[path] = ActionJournal(path)
        return journals[path]

    def execute(action: str, key: str | None) -> Observation:
        """Run a real action once: journaled and, for writes, approved when resumable."""
        if key is not None:
            status, saved = journal().lookup(key)
            if status == "done" and saved is not None:
                _emit({"type": "replayed", "action": action})
                return Observation.from_dict(saved)
            if status == "started":
                return Observation(
                    output="This action was interrupted by a crash in an earlier attempt and was "
                    "not run again; its effect is unknown.",
                    ok=False,
                    error="interrupted earlier",
                )
            needs_approval = getattr(env, "needs_approval", None)
            if cfg.approve_writes and needs_approval is not None and needs_approval(action):
                answer = interrupt({"type": "approve_action", "action": action,
                                    "question": "This action changes data. Run it?"})  # fmt: skip
                approved = answer.get("approved") if isinstance(answer, dict) else answer
                if approved is not True:
                    return Observation(output="Refused: the user did not approve this action.",
                                       ok=False, refused=True, error="not approved")  # fmt: skip
            journal().begin(key, action)
            obs = env.step(action)
            journal().finish(key, obs.to_dict())
            return obs
        return env.step(action)

    limits = {
        "max_llm_calls": cfg.max_llm_calls,
        "max_tokens": cfg.max_tokens,
        "max_seconds": cfg.max_seconds,
        "max_rollouts": cfg.max_rollouts,
    }

    def start(state: SlinvitState) -> dict:
        task = _task_of(state["messages"])
        return {
            "task": task,
            "context": env.describe(),
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
        }

    def _budget(state: SlinvitState) -> Budget:
        return remaining_budget(limits, state.get("usage", {}), state["started_at"])

    def propose_node(state: SlinvitState) -> dict:
        decision = state["decision"]
        if decision >= cfg.horizon:
            return {"done": True, "stop_reason": "horizon", "paths": Overwrite([])}
        budget = _budget(state)
        try:
            candidates = propose_here(
                policy,
                env,
                cfg,
                task=state["task"],
                context=state["context"],
                steps=state["steps"],
                budget=budget,
                choices=legal_actions_of(env),
            )
        except BudgetExhausted as exc:
            return {"done": True, "stop_reason": exc.reason, "usage": budget.spent,
                    "paths": Overwrite([])}  # fmt: skip
        cands = [c.to_dict() for c in candidates]
        _emit({"type": "candidates", "decision": decision, "candidates": cands})
        update: dict[str, Any] = {"candidates": cands, "usage": budget.spent,
                                  "paths": Overwrite([])}  # fmt: skip
        if not candidates:
            step = {
                "action": "",
                "observation": Observation(
                    output="The model proposed no usable action.", ok=False, error="no action"
                ).to_dict(),
                "decision": decision,
                "score": None,
            }
            update.update(steps=[*state["steps"], step], decision=decision + 1)
        return update

    def route_after_propose(
        state: SlinvitState,
    ) -> list[Send] | Literal["respond", "propose"]:
        if state.get("done"):
            return "respond"
        candidates = state.get("candidates") or []
        if not candidates:
            return "propose"
        shares = _budget(state).split(len(candidates))
        return [
            Send(
                "rollout",
                BranchState(
                    task=state["task"],
                    context=state["context"],
                    steps=state["steps"],
                    horizon_left=cfg.horizon - state["decision"],
                    candidate=cand,
                    budget={
                        "llm_calls": share.llm_calls,
                        "tokens": share.tokens,
                        "deadline": share.deadline,
                        "rollouts": share.rollouts,
                    },
                    decision=state["decision"],
                ),
            )
            for cand, share in zip(candidates, shares, strict=True)
        ]

    def _branch(branch: RolloutState) -> tuple[SearchState, Budget]:
        """The branch's search state, and its budget less what the branch has spent."""
        b, spent = branch["budget"], branch.get("usage") or {}
        budget = Budget(
            llm_calls=int(b["llm_calls"] - spent.get("llm_calls", 0)),
            tokens=int(b["tokens"] - spent.get("prompt_tokens", 0)
                       - spent.get("completion_tokens", 0)),
            deadline=b["deadline"],
            rollouts=int(b["rollouts"] - spent.get("rollouts", 0)),
        )  # fmt: skip
        state = SearchState(task=branch["task"], context=branch["context"],
                            steps=branch["steps"], horizon_left=branch["horizon_left"])  # fmt: skip
        return state, budget

    def expand(branch: RolloutState) -> dict:
        """Breadth-first expansion of this branch's candidate to depth N (in forks)."""
        search_state, budget = _branch(branch)
        first = Candidate(**branch["candidate"])
        try:
            leaves = expand_paths(env, policy, search_state, first, cfg, budget)
            stopped = None
        except BudgetExhausted as exc:
            leaves, stopped = [[first]], exc.reason
        return {"leaves": [[c.to_dict() for c in leaf] for leaf in leaves],
                "stopped_by": stopped, "usage": budget.spent}  # fmt: skip

    def simulate(branch: RolloutState) -> dict:
        """M rollouts of the LLM policy from every leaf, each in its own fork."""
        search_state, budget = _branch(branch)
        paths = []
        for leaf in branch["leaves"]:
            path = [Candidate(**c) for c in leaf]
            result = evaluate_path(env, policy, search_state, path, cfg, budget, hooks)
            result.stopped_by = branch.get("stopped_by") or result.stopped_by
            paths.append(result.to_dict())
        return {"paths": paths, "usage": budget.spent}

    rollout_graph = StateGraph(RolloutState, input_schema=BranchState, output_schema=RolloutOutput)
    rollout_graph.add_node("expand", expand)
    rollout_graph.add_node("simulate", simulate)
    rollout_graph.add_edge(START, "expand")
    rollout_graph.add_edge("expand", "simulate")
    rollout_graph.add_edge("simulate", END)

    def score(state: SlinvitState) -> dict:
        # rollout events are sent here: custom events of a subgraph reach a parent's stream
        # only with subgraphs=True
        done = len(state["steps"])
        for path in state.get("paths") or []:
            _emit({"type": "rollout", "decision": state["decision"], "path": path["actions"],
                   "rollouts": [{"actions": r["actions"][done:], "value": r["value"]}
                                for r in path["rollouts"]]})  # fmt: skip
        scored = score_paths(state.get("paths") or [], cfg)
        _emit({"type": "scores", "decision": state["decision"],
               "paths": [{"actions": p["actions"], "prior": p["prior"], "v_hat": p["v_hat"],
                          "score": p["score"]} for p in scored]})  # fmt: skip
        return {"scored": scored}

    def select(state: SlinvitState) -> dict:
        scored = state.get("scored") or []
        decision = state["decision"]
        best = select_best(scored)
        node, parent = f"d{decision}", f"d{decision - 1}" if decision else "root"
        nodes = [{"id": node, "parent": parent, "kind": "decision"}]
        for i, path in enumerate(scored):
            nodes.append({
                "id": f"{node}.p{i}", "parent": node, "kind": "path",
                "actions": path["actions"], "p_llm": path["p_llm"], "v_hat": path["v_hat"],
                "score": path["score"], "chosen": path is best,
            })  # fmt: skip
        if best is not None:
            _emit({"type": "choice", "decision": decision, "actions": best["actions"],
                   "score": best["score"]})  # fmt: skip
        return {"chosen": best, "tree": nodes}

    def act(state: SlinvitState) -> dict:
        return _act(state)

    def _act(state: SlinvitState) -> dict:
        best = state.get("chosen")
        decision = state["decision"]
        if best is None:  # every branch failed before producing a path
            return {"decision": decision + 1}
        action = best["actions"][0]
        if action == SUBMIT:
            _emit({"type": "submit", "decision": decision})
            # A step keeps the value its own decision gave it: agreement on *stopping* says
            # little about whether the last result is right, so SUBMIT does not raise it.
            return {"done": True, "stop_reason": "submitted", "decision": decision + 1}
        if cfg.stop_when in ("no_gain", "first_result") and not improves_on(best, state["steps"]):
            # the search values this action no higher than a result already in hand: answer
            # with that result instead of acting again
            _emit({"type": "no_gain", "decision": decision, "actions": best["actions"],
                   "v_hat": best["v_hat"]})  # fmt: skip
            return {"done": True, "stop_reason": "no_gain", "decision": decision + 1}
        has_checkpointer, thread_id = _run_context()
        key = f"{thread_id}/{state['started_at']!r}/{decision}" if has_checkpointer else None
        obs = execute(action, key)
        step = {"action": action, "observation": obs.to_dict(), "decision": decision,
                "score": best["score"], "value": best["v_hat"],
                "value_here": values_first_step(best, len(state["steps"]))}  # fmt: skip
        _emit({"type": "action", "decision": decision, "action": action, "output": obs.output})
        update: dict[str, Any] = {
            "steps": [*state["steps"], step],
            "decision": decision + 1,
            "usage": {"env_steps": 1},
        }
        if obs.terminal:
            update.update(done=True, stop_reason="terminal")
        elif cfg.stop_when == "first_result" and not is_failure(step["observation"]):
            update.update(done=True, stop_reason="first_result")
        elif decision + 1 >= cfg.horizon:
            update.update(done=True, stop_reason="horizon")
        return update

    def route_after_act(state: SlinvitState) -> Literal["propose", "respond"]:
        return "respond" if state.get("done") else "propose"

    def respond(state: SlinvitState) -> dict:
        steps = state.get("steps") or []
        reason = state.get("stop_reason") or "horizon"
        answer_index = _answer_index(steps, env, cfg.answer_from)
        answer_step = steps[answer_index] if answer_index is not None else None
        spent: dict[str, float] = {}
        if answer_step is None:
            text = "I could not find an answer"
            text += f" (stopped: {_reason_text(reason)})." if reason != "submitted" else "."
        else:
            text = _render_answer(answer_step, env.language)
            if cfg.summarize_answer:
                budget = _budget(state)
                try:
                    reply = policy.sample(
                        summary_messages(state["task"], answer_step["action"],
                                         answer_step["observation"]["output"], env.language),
                        1, budget, temperature=0.0, max_tokens=200,
                    )  # fmt: skip
                    summary = reply[0].text.strip() if reply else ""
                    if summary:
                        text = summary + "\n\n" + text
                except (BudgetExhausted, ModelEndpointError):
                    pass  # the rendered result alone is still a complete answer
                spent = budget.spent
            if reason not in ("submitted", "terminal", "no_gain", "first_result"):
                text += f"\n\n(stopped: {_reason_text(reason)}; best result so far shown)"
        elapsed = round(time.time() - state["started_at"], 3)
        seconds = elapsed - state.get("usage", {}).get("seconds", 0)
        _emit({"type": "answer", "text": text, "stop_reason": reason})
        return {
            "messages": [AIMessage(text)],
            "answer": text,
            "answer_step": answer_index,
            "stop_reason": reason,
            "usage": {**spent, "seconds": seconds},
        }

    graph = StateGraph(SlinvitState, input_schema=InputState, output_schema=OutputState)
    graph.add_node("start", start)
    graph.add_node("propose", propose_node)
    graph.add_node("rollout", rollout_graph.compile(name="rollout"), input_schema=BranchState)
    graph.add_node("score", score)
    graph.add_node("select", select)
    graph.add_node("act", act)
    graph.add_node("respond", respond)
    graph.add_edge(START, "start")
    graph.add_edge("start", "propose")
    graph.add_conditional_edges(
        "propose", route_after_propose, ["rollout", "respond", "propose"]
    )
    graph.add_edge("rollout", "score")
    graph.add_edge("score", "select")
    graph.add_edge("select", "act")
    graph.add_conditional_edges("act", route_after_act, ["propose", "respond"])
    graph.add_edge("respond", END)
    return graph


def create_slinvit_agent(
    model: BaseChatModel | Callable[[], BaseChatModel],
    env: Environment,
    *,
    config: SlinvitConfig | None = None,
    value_fn: ValueHook | None = None,
    oracle_reward: ValueHook | None = None,
    checkpointer: Any = None,
    store: Any = None,
    name: str = "slinvit",
) -> Any:
    """A compiled SLINVIT agent: ``invoke({"messages": [("user", task)]})`` returns messages,
    the ``answer``, the real ``steps``, ``usage`` and ``stop_reason``. See
    :func:`build_slinvit_graph` for the arguments."""
    graph = build_slinvit_graph(
        model, env, config=config, value_fn=value_fn, oracle_reward=oracle_reward
    )
    return graph.compile(checkpointer=checkpointer, store=store, name=name)


def _answer_index(steps: list[dict], env: Environment, rule: str) -> int | None:
    """The index of the real step the answer rests on (None when no action ran).

    Only steps with the best execution feedback are eligible (an answer never rests on an error
    when a result exists). ``last``: the last of them; ``best``: the one whose decision valued
    it highest (``value``), ties going to the later step.
    """
    real = [i for i, s in enumerate(steps) if s.get("action")]
    if not real:
        return None
    feedback = {i: env.feedback_value(Observation.from_dict(steps[i]["observation"])) for i in real}
    top = max(feedback.values())
    eligible = [i for i in real if feedback[i] == top]
    if rule == "last":
        return eligible[-1]
    return max(eligible, key=lambda i: (steps[i].get("value") or 0.0, i))


def _render_answer(step: dict, language: str) -> str:
    return f"```{language}\n{step['action']}\n```\n{step['observation']['output']}"


def _reason_text(reason: str) -> str:
    return {
        "horizon": "the horizon of real actions was reached",
        "terminal": "the environment reported the episode over",
        "no_gain": "no candidate was valued above a result already in hand",
        "first_result": "a real action returned a result (stop_when=first_result)",
        "no_action": "the model proposed no usable action",
        "max_llm_calls": "the max_llm_calls budget ran out",
        "max_tokens": "the max_tokens budget ran out",
        "max_seconds": "the max_seconds budget ran out",
        "max_rollouts": "the max_rollouts budget ran out",
    }.get(reason, reason)
