"""Use a SLINVIT agent as a tool of another agent (a chatbot built with ``create_agent``)."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from langgraph_slinvit.envs.sandbox import SandboxUnavailableError
from langgraph_slinvit.envs.shell import ShellEnvironmentError
from langgraph_slinvit.envs.sql import SQLEnvironmentError
from langgraph_slinvit.policy import ModelEndpointError

TOOL_ERRORS: tuple[type[BaseException], ...] = (
    ModelEndpointError,
    SQLEnvironmentError,
    ShellEnvironmentError,
    SandboxUnavailableError,
)
"""Failures the calling agent is told about (as the tool's result) instead of crashing on."""


class _Question(BaseModel):
    question: str = Field(description="The question or task, in plain words.")


def _tool_error(exc: ToolException) -> str:
    return f"The {exc.args[1]} tool failed: {exc.args[0]}"


def slinvit_tool(
    agent: Any,
    *,
    name: str = "ask_database",
    description: str = (
        "Answer a question about the database by searching over SQL queries and running the best."
    ),
    errors: tuple[type[BaseException], ...] = TOOL_ERRORS,
) -> BaseTool:
    """Wrap a compiled SLINVIT agent as a LangChain tool taking one ``question`` string.

    Each call is a fresh SLINVIT episode; the tool returns the agent's answer text. When the
    episode fails with one of ``errors`` (the model endpoint is down, the database or sandbox is
    unavailable), the tool returns an error message as its result (a ``ToolException`` handled by
    ``handle_tool_error``), so the calling agent can tell the user instead of crashing.
    """

    def run(question: str) -> str:
        try:
            return agent.invoke({"messages": [("user", question)]})["answer"]
        except errors as exc:
            raise ToolException(f"{type(exc).__name__}: {exc}", name) from exc

    async def arun(question: str) -> str:
        try:
            return (await agent.ainvoke({"messages": [("user", question)]}))["answer"]
        except errors as exc:
            raise ToolException(f"{type(exc).__name__}: {exc}", name) from exc

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=description,
        args_schema=_Question,
        handle_tool_error=_tool_error,
    )
