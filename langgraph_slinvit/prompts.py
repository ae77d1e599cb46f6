"""Prompts. Actions are asked for in fenced code blocks, so no tool calling is needed.

Everything a prompt says about the action language (its name, the fence tag, the place the
actions run in) comes from the environment's :class:`~langgraph_slinvit.envs.base.ActionSyntax`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

if TYPE_CHECKING:
    from langgraph_slinvit.envs.base import ActionSyntax
    from langgraph_slinvit.records import ActionStep

SUBMIT = "SUBMIT"

SYSTEM = """You are an expert {language} user working on a {place}.
You solve the user's task one action at a time. Each reply is exactly one {language} action, \
written inside a fenced code block that starts with ```{language} and ends with ```.
When the results so far already answer the task, reply with the single word {submit} instead."""

CRITIC_QUESTION = """Does the last result correctly and completely answer the task? Think \
briefly, then finish with a line "Score: N" where N is 0 (wrong) to 10 (certainly right)."""
"""The critic's generic question (an environment may bring its own ``critic_rubric``)."""

CRITIC = """Task: {task}

{trajectory}

{question}"""

SUMMARY = """Task: {task}

The last {language} action and its result:
```{language}
{action}
```
{result}

Answer the task in one sentence. Quote names and numbers exactly as they appear in the result; \
do not add, compute or invent any."""


def format_trajectory(
    steps: Sequence[ActionStep], syntax: ActionSyntax, max_chars: int = 1500
) -> str:
    """Previous actions and observations as text (the newest last)."""
    if not steps:
        return "No actions yet."
    parts = []
    for i, step in enumerate(steps, 1):
        output = step["observation"]["output"]
        if len(output) > max_chars:
            output = output[:max_chars] + " ..."
        latest = (step["observation"].get("details") or {}).get("while_latest")
        if latest and i == len(steps):
            output = f"{output}\n{latest}"
        parts.append(f"Action {i}:\n```{syntax.name}\n{step['action']}\n```\nResult {i}:\n{output}")
    return "\n\n".join(parts)


def proposal_messages(
    task: str,
    context: str,
    steps: Sequence[ActionStep],
    syntax: ActionSyntax,
    avoid: Sequence[str] = (),
) -> list[BaseMessage]:
    """Messages asking for the next action (optionally one different from ``avoid``)."""
    system = SYSTEM.format(language=syntax.name, place=syntax.description, submit=SUBMIT)
    body = f"Context:\n{context}\n\nTask: {task}\n\n{format_trajectory(steps, syntax)}\n\n"
    if avoid:
        listed = "\n".join(f"- {a}" for a in avoid)
        body += f"These actions were already proposed; give a different one:\n{listed}\n\n"
    body += "Next action:" if steps else f"Write the {syntax.name} for the task."
    return [SystemMessage(system), HumanMessage(body)]


def critic_messages(
    task: str,
    steps: Sequence[ActionStep],
    syntax: ActionSyntax,
    question: str = CRITIC_QUESTION,
) -> list[BaseMessage]:
    """The critic's request: the task, the trajectory and ``question``."""
    trajectory = format_trajectory(steps, syntax)
    return [HumanMessage(CRITIC.format(task=task, trajectory=trajectory, question=question))]


def summary_messages(
    task: str, action: str, result: str, syntax: ActionSyntax
) -> list[BaseMessage]:
    text = SUMMARY.format(task=task, action=action, result=result, language=syntax.name)
    return [HumanMessage(text)]
