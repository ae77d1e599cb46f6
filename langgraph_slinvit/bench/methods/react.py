"""``react``: LangChain's ``create_agent`` with one ``execute`` tool (a non-oracle baseline).

The tool runs an action in the task's real environment and returns the observation. The agent
makes at most ``max_turns`` model calls (``ModelCallLimitMiddleware``; never more than the LLM
budget) and stops before a call once the task's ``max_seconds`` are spent (:class:`Deadline`).
Small models often write a tool call as JSON in a ```json fence instead of a real tool call:
:class:`FencedToolCalls` turns such replies into ``tool_calls`` (the local model's
``LocalChatOpenAI`` already does this) and renames a lone argument to ``action``. If the model
answers without calling the tool, the last executed action is its answer. Each reply is capped
at the tokens every other method's replies get (``REPLY_TOKENS``): without it the small model
can loop until its context is full (seen: 4,700 tokens in one reply, over 15 minutes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    ModelCallLimitMiddleware,
    ModelResponse,
    hook_config,
)
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import tool_call
from langchain_core.outputs import LLMResult
from langchain_core.tools import StructuredTool

from langgraph_slinvit.bench.core import BenchSettings, Job, MethodResult
from langgraph_slinvit.bench.methods.common import clip, prompt_digest, run_real
from langgraph_slinvit.envs.base import TEXT_SYNTAX, ActionSyntax, legal_actions_of, syntax_of
from langgraph_slinvit.local.chat import parse_fenced_json_tool_calls
from langgraph_slinvit.policy import REPLY_TOKENS
from langgraph_slinvit.proposal import action_of

NAME = "react"
UNTOOLED_RUNS_ACTION = "runs the legal action it names"
"""A suite's ``untooled_reply`` setting for react: a reply without a tool call that names a legal
action runs it (recorded in the run's config through the suite's settings)."""
TOOL = "execute"
TIME_UP = "Stopped: the task's time budget (max_seconds) is spent."
PLACES = {TEXT_SYNTAX.description: "puzzle (copy a legal action)"}
"""This baseline's own wording of a place, where it differs from the syntax's description
(kept, so its prompt and its published rows stay the same)."""
SYSTEM = (
    "You are an expert {language} user. Use the {tool} tool to run {language} actions on the "
    "{place}, one action per call; you must call it before answering. When a result answers "
    "the task, reply with a short final answer."
)


def config(settings: BenchSettings) -> dict[str, Any]:
    return {
        "temperature": settings.baseline_temperature,
        "max_model_calls": _limit(settings),
        "prompt": prompt_digest(SYSTEM),
        "reply_tokens": REPLY_TOKENS,
    }


def is_oracle(settings: BenchSettings) -> bool:
    return False


def _limit(settings: BenchSettings) -> int:
    return max(1, min(settings.max_turns, settings.max_llm_calls))


class UsageCounter(BaseCallbackHandler):
    """Counts chat-model requests and their tokens (once per request)."""

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.calls += 1

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt = completion = 0
        first = (
            response.generations[0][0] if response.generations and response.generations[0] else None
        )
        meta = getattr(getattr(first, "message", None), "usage_metadata", None)
        if meta:
            prompt, completion = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
        else:
            usage = (response.llm_output or {}).get("token_usage") or {}
            prompt = int(usage.get("prompt_tokens") or 0)
            completion = int(usage.get("completion_tokens") or 0)
        self.prompt_tokens += prompt
        self.completion_tokens += completion


class Deadline(AgentMiddleware):
    """End the agent before a model call once ``deadline`` (``time.time()``) has passed: the
    task's ``max_seconds``, the wall-clock budget every other method stops on."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        if time.time() < self.deadline:
            return None
        return {"jump_to": "end", "messages": [AIMessage(content=TIME_UP)]}


class ReplyCap(AgentMiddleware):
    """Cap every model reply at ``tokens`` (``max_tokens`` in the request's model settings)."""

    def __init__(self, tokens: int) -> None:
        super().__init__()
        self.tokens = tokens

    def wrap_model_call(self, request: Any, handler: Callable[[Any], ModelResponse]) -> Any:
        settings = {**request.model_settings, "max_tokens": self.tokens}
        return handler(request.override(model_settings=settings))


class LatestOnly(AgentMiddleware):
    """Show an observation's ``while_latest`` text (the commands admissible now) in the newest
    tool result only, as SLINVIT's prompts do: older results are sent without it."""

    def __init__(self) -> None:
        super().__init__()
        self.suffixes: set[str] = set()

    def wrap_model_call(self, request: Any, handler: Callable[[Any], ModelResponse]) -> Any:
        if not self.suffixes:
            return handler(request)
        tools = [i for i, m in enumerate(request.messages) if isinstance(m, ToolMessage)]
        messages = list(request.messages)
        for i in tools[:-1]:
            content = messages[i].content
            for suffix in self.suffixes:
                if isinstance(content, str) and content.endswith(suffix):
                    messages[i] = messages[i].model_copy(
                        update={"content": content[: -len(suffix)]}
                    )
                    break
        return handler(request.override(messages=messages))


class FencedToolCalls(AgentMiddleware):
    """Read tool calls a model wrote as fenced JSON, and name a lone argument ``action``.

    With ``choices`` (the environment's legal actions now), a reply with no tool call that
    names one of them (in prose, or as the "name" of a made-up tool) runs it, as SLINVIT maps
    its replies onto legal actions; used where the suite says so (``untooled_reply``).
    """

    def __init__(
        self,
        choices: Callable[[], list[str] | None] | None = None,
        syntax: ActionSyntax | None = None,
    ) -> None:
        super().__init__()
        self.choices = choices
        self.syntax = syntax

    def wrap_model_call(self, request: Any, handler: Callable[[Any], ModelResponse]) -> Any:
        response = handler(request)
        if isinstance(response, AIMessage):
            return self._fixed(response)
        response.result = [
            self._fixed(m) if isinstance(m, AIMessage) else m for m in response.result
        ]
        return response

    def _fixed(self, message: AIMessage) -> AIMessage:
        fixed = _fix(message)
        if self.choices is None or self.syntax is None:
            return fixed
        if any(c["name"] == TOOL for c in fixed.tool_calls):
            return fixed
        legal = self.choices()
        if not legal:
            return fixed
        named = " ".join(c["name"] for c in fixed.tool_calls)  # a made-up tool per command
        action = action_of(f"{named}\n{fixed.content}".strip(), self.syntax, legal)
        if action is None or action not in legal:
            return fixed
        call = tool_call(name=TOOL, args={"action": action}, id=f"call_named_{len(legal)}")
        return fixed.model_copy(update={"tool_calls": [call]})


def _fix(message: AIMessage) -> AIMessage:
    """``message`` with well-formed ``tool_calls``: read from fenced JSON when it has none,
    a lone argument renamed ``action``, and every call typed ``tool_call`` (a ``model_copy``
    that skips validation, as ``LocalChatOpenAI`` makes, leaves the type out, and LangGraph's
    ``ToolNode`` then does not recognise the calls)."""
    calls = list(message.tool_calls)
    content = message.content
    if not calls:
        calls = parse_fenced_json_tool_calls(str(message.content), tool_names=[TOOL])
        if not calls:
            return message
        content = ""
    fixed = []
    for call in calls:
        args = dict(call.get("args") or {})
        strings = [v for v in args.values() if isinstance(v, str)]
        if call.get("name") == TOOL and "action" not in args and len(strings) == 1:
            args = {"action": strings[0]}
        fixed.append(tool_call(name=call["name"], args=args, id=call.get("id")))
    return message.model_copy(update={"tool_calls": fixed, "content": content})


def run(job: Job) -> MethodResult:
    started = time.time()
    settings = job.settings
    env = job.env
    steps: list[dict] = []

    latest_only = LatestOnly()

    def execute(action: str) -> str:
        obs = run_real(env, action, steps)
        latest = obs.details.get("while_latest")  # e.g. the commands admissible now
        if not latest:
            return obs.output
        latest_only.suffixes.add(f"\n{latest}")
        return f"{obs.output}\n{latest}"

    syntax = syntax_of(env)
    tool = StructuredTool.from_function(
        execute,
        name=TOOL,
        description=f"Run one {syntax.name} action in the task's environment; returns its result.",
    )
    place = PLACES.get(syntax.description, syntax.description)
    untooled = job.suite.settings(NAME).get("untooled_reply") == UNTOOLED_RUNS_ACTION

    def choices() -> list[str] | None:
        return legal_actions_of(env)

    agent = create_agent(
        job.model(settings.baseline_temperature),
        [tool],
        system_prompt=SYSTEM.format(language=syntax.name, place=place, tool=TOOL),
        middleware=[
            ReplyCap(REPLY_TOKENS),
            latest_only,
            FencedToolCalls(choices, syntax) if untooled else FencedToolCalls(),
            ModelCallLimitMiddleware(run_limit=_limit(settings), exit_behavior="end"),
            Deadline(started + settings.max_seconds),
        ],
    )
    counter = UsageCounter()
    prompt = f"Context:\n{job.context}\n\nTask: {job.task.text}"
    out = agent.invoke(
        {"messages": [HumanMessage(prompt)]},
        config={"callbacks": [counter], "recursion_limit": 4 * _limit(settings) + 10},
    )
    messages = out.get("messages", [])
    final = messages[-1] if messages else None
    reply = str(final.content) if isinstance(final, AIMessage) else ""
    return MethodResult(
        steps=steps,
        usage={
            "llm_calls": float(counter.calls),
            "prompt_tokens": float(counter.prompt_tokens),
            "completion_tokens": float(counter.completion_tokens),
            "env_steps": float(len(steps)),
            "rollout_steps": 0.0,
        },
        oracle=False,
        details={"final_reply": clip(reply), "messages": len(messages)},
    )
