"""Use a SLINVIT agent as a tool of another agent (a chatbot built with ``create_agent``)."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field


class _Question(BaseModel):
    question: str = Field(description="The question or task, in plain words.")


def slinvit_tool(
    agent: Any,
    *,
    name: str = "ask_database",
    description: str = (
        "Answer a question about the database by searching over SQL queries and running the best."
    ),
) -> BaseTool:
    """Wrap a compiled SLINVIT agent as a LangChain tool taking one ``question`` string.

    Each call is a fresh SLINVIT episode; the tool returns the agent's answer text.
    """

    def run(question: str) -> str:
        return agent.invoke({"messages": [("user", question)]})["answer"]

    async def arun(question: str) -> str:
        return (await agent.ainvoke({"messages": [("user", question)]}))["answer"]

    return StructuredTool.from_function(
        func=run, coroutine=arun, name=name, description=description, args_schema=_Question
    )
