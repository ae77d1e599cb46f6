"""Follow-up turns: the task of this episode and what earlier turns of the thread did.

A chatbot thread holds several episodes. The task is the newest user message; the earlier turns
(their questions, the real actions that ran with their results, the answers) are shown to the
model as part of the context, newest kept first, within a token budget
(``SlinvitConfig.history_tokens``; tokens are estimated as characters / 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langgraph_slinvit.envs.base import ActionSyntax
from langgraph_slinvit.records import StepRecord, TurnRecord

CHARS_PER_TOKEN = 4
RESULT_CHARS = 600
"""Characters of one earlier result shown at most."""


def message_text(message: BaseMessage) -> str:
    """The text of a message: a string content as is, and the text parts of a multimodal
    (list) content joined; other parts (images, audio) are named, not dumped."""
    content: Any = message.content
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif isinstance(part, dict):
            parts.append(f"[{part.get('type', 'attachment')}]")
    return "\n".join(p for p in parts if p)


def task_of(messages: Sequence[BaseMessage]) -> str:
    """The newest user message's text: the task of this episode."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            text = message_text(message).strip()
            if text:
                return text
    raise ValueError("the SLINVIT agent needs a user message with the task")


def earlier_turns(messages: Sequence[BaseMessage], turns: Sequence[TurnRecord]) -> list[TurnRecord]:
    """The turns before the newest user message: this agent's own records where it has them
    (they carry the actions), else question/answer pairs read from the messages."""
    if turns:
        return list(turns)
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    found: list[TurnRecord] = []
    for message in messages[: max(last_human, 0)]:
        if isinstance(message, HumanMessage):
            found.append({"question": message_text(message), "steps": [], "answer": ""})
        elif isinstance(message, AIMessage) and found and not found[-1]["answer"]:
            found[-1]["answer"] = message_text(message)
    return found


def render_turn(turn: TurnRecord, syntax: ActionSyntax) -> str:
    lines = [f"User: {turn['question']}"]
    for step in turn["steps"]:
        output = step["output"]
        if len(output) > RESULT_CHARS:
            output = output[:RESULT_CHARS] + " ..."
        lines.append(f"Ran:\n```{syntax.name}\n{step['action']}\n```\nResult:\n{output}")
    if turn["answer"]:
        lines.append(f"Answer: {turn['answer']}")
    return "\n".join(lines)


def history_block(turns: Sequence[TurnRecord], syntax: ActionSyntax, max_tokens: int) -> str:
    """Earlier turns as text for the context, newest kept first within ``max_tokens``; ``""``
    when there are none (or the budget is 0)."""
    if not turns or max_tokens <= 0:
        return ""
    budget = max_tokens * CHARS_PER_TOKEN
    kept: list[str] = []
    for turn in reversed(turns):
        text = render_turn(turn, syntax)
        if len(text) > budget:
            break
        kept.append(text)
        budget -= len(text)
    if not kept:
        return ""
    dropped = len(turns) - len(kept)
    head = "Earlier in this conversation"
    head += f" ({dropped} older turn{'s' if dropped > 1 else ''} left out):" if dropped else ":"
    return head + "\n\n" + "\n\n".join(reversed(kept))


def turn_record(question: str, steps: Sequence[StepRecord], answer: str) -> TurnRecord:
    """The record of a finished episode, for the next turns' context."""
    ran = [
        {"action": s["action"], "output": s["observation"]["output"]}
        for s in steps
        if s.get("action")
    ]
    return {"question": question, "steps": ran, "answer": answer}
