"""The SLINVIT agent as a LangGraph graph: one node per step of the method.

    start -> propose -(Send, one branch per candidate)-> rollout -> score -> select -> act
             ^                                                                          |
             +---------------------- until submit / no gain / horizon / budget ----------+-> respond

The nodes live in :class:`~langgraph_slinvit.nodes.SlinvitNodes` (the environment and the model
stay there, never in the state); this module only wires them, and builds the agent the way
``create_agent`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.base import Environment, default_settings_of
from langgraph_slinvit.nodes import SlinvitNodes
from langgraph_slinvit.policy import Policy
from langgraph_slinvit.search import Hooks
from langgraph_slinvit.state import (
    BranchState,
    InputState,
    OutputState,
    SlinvitContext,
    SlinvitState,
)
from langgraph_slinvit.value import ValueHook


def build_slinvit_graph(
    model: BaseChatModel | str | Callable[[], BaseChatModel],
    env: Environment,
    *,
    search: SlinvitConfig | None = None,
    config: SlinvitConfig | None = None,
    system_prompt: str | None = None,
    name: str | None = None,
    response_format: Any = None,
    context_schema: type | None = None,
    value_fn: ValueHook | None = None,
    oracle_reward: ValueHook | None = None,
) -> StateGraph:
    """The uncompiled SLINVIT ``StateGraph`` (messages in, messages out) for composition.

    Args:
        model: any LangChain chat model, a model name as ``init_chat_model`` takes it, or a
            zero-argument factory of a model.
        env: the environment actions run in; rollouts run only in its forks.
        search: the method's settings and budgets (``preset(...)`` or a ``SlinvitConfig``);
            default: the environment's own (``default_settings()``, e.g. the SQL preset for a
            database), else ``SlinvitConfig()``. ``config=`` is the older name of it.
        system_prompt: instructions shown to the model with the environment's description.
        name: the name set on the answer's ``AIMessage`` (supervisors route on it).
        response_format: a schema (pydantic model, TypedDict, JSON schema) for the answer: the
            output then holds ``structured_response`` (the model's structured output).
        context_schema: the type of a run's ``context``; its keys ``k``, ``depth``,
            ``rollouts``, ``horizon``, ``rollout_horizon``, ``lam``, ``samples`` override the
            settings for that run. Default :class:`~langgraph_slinvit.state.SlinvitContext`.
        value_fn: an optional rule-based value of a state (non-oracle).
        oracle_reward: the task's gold-answer reward, for benchmarks only. A run with it is an
            *oracle* run and must be reported as such.
    """
    settings = _settings(search, config, env)
    policy = Policy(
        model,
        temperature=settings.temperature,
        want_logprobs=settings.p_llm != "agreement",
        retries=settings.retries,
        backoff=settings.retry_backoff,
        seed=settings.seed,
    )
    hooks = Hooks(value_fn=value_fn, oracle_reward=oracle_reward)
    nodes = SlinvitNodes(
        env,
        policy,
        settings,
        hooks,
        system_prompt=system_prompt,
        name=name,
        response_format=response_format,
    )

    graph = StateGraph(
        SlinvitState,
        context_schema=context_schema or SlinvitContext,
        input_schema=InputState,
        output_schema=OutputState,
    )
    graph.add_node("start", nodes.start)
    graph.add_node("propose", nodes.propose)
    graph.add_node("rollout", nodes.rollout, input_schema=BranchState)
    graph.add_node("score", nodes.score)
    graph.add_node("select", nodes.select)
    graph.add_node("act", nodes.act)
    graph.add_node("respond", nodes.respond)
    graph.add_edge(START, "start")
    graph.add_edge("start", "propose")
    graph.add_conditional_edges(
        "propose", nodes.route_after_propose, ["rollout", "respond", "propose"]
    )
    graph.add_edge("rollout", "score")
    graph.add_edge("score", "select")
    graph.add_edge("select", "act")
    graph.add_conditional_edges("act", nodes.route_after_act, ["propose", "respond"])
    graph.add_edge("respond", END)
    return graph


def create_slinvit_agent(
    model: BaseChatModel | str | Callable[[], BaseChatModel],
    env: Environment,
    *,
    search: SlinvitConfig | None = None,
    config: SlinvitConfig | None = None,
    system_prompt: str | None = None,
    response_format: Any = None,
    context_schema: type | None = None,
    value_fn: ValueHook | None = None,
    oracle_reward: ValueHook | None = None,
    checkpointer: Any = None,
    store: Any = None,
    interrupt_before: Sequence[str] | None = None,
    interrupt_after: Sequence[str] | None = None,
    debug: bool = False,
    name: str = "slinvit",
) -> Any:
    """A compiled SLINVIT agent: ``invoke({"messages": [("user", task)]})`` returns messages,
    the ``answer``, the real ``steps``, ``usage`` and ``stop_reason``. The arguments are those
    of :func:`build_slinvit_graph` and of ``StateGraph.compile``, as ``create_agent`` takes
    them; ``name`` names the graph and the answer's ``AIMessage``."""
    graph = build_slinvit_graph(
        model,
        env,
        search=search,
        config=config,
        system_prompt=system_prompt,
        name=name,
        response_format=response_format,
        context_schema=context_schema,
        value_fn=value_fn,
        oracle_reward=oracle_reward,
    )
    return graph.compile(
        checkpointer=checkpointer,
        store=store,
        name=name,
        debug=debug,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
    )


def _settings(
    search: SlinvitConfig | None, config: SlinvitConfig | None, env: Environment
) -> SlinvitConfig:
    if search is not None and config is not None:
        raise TypeError("pass the settings once: search=... (config= is its older name)")
    search = search if search is not None else config
    if search is None:
        return default_settings_of(env) or SlinvitConfig()
    if not isinstance(search, SlinvitConfig):
        kind = type(search).__name__
        raise TypeError(f"search= takes a SlinvitConfig (or preset(...)), not {kind}")
    return search
