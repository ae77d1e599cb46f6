"""A tool-calling chatbot (``langchain.agents.create_agent``) that asks a SLINVIT agent.

The chatbot decides when a question needs the database; the SLINVIT agent then searches over
candidate SQL queries (rollouts in forks of the database) and answers.

    python examples/chatbot_with_slinvit_tool.py "Which customers have never placed an order?"

Uses ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` if set, else the embedded local model. The chatbot
model must support tool calling (the embedded 1.5B model writes tool calls as fenced JSON, which
``langgraph_slinvit.local.LocalChatOpenAI`` parses into ``tool_calls``).
"""

from __future__ import annotations

import sys

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.demo import DEMO_QUESTION, demo_database
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.models import chat_model
from langgraph_slinvit.tools import slinvit_tool


def build_chatbot(chat: BaseChatModel, searcher: BaseChatModel, db_url: str):
    """A chatbot whose ``ask_database`` tool is a SLINVIT agent over ``db_url``."""
    env = SQLEnvironment(db_url)
    sql_agent = create_slinvit_agent(searcher, env, search=SlinvitConfig(k=2, rollouts=1))
    tool = slinvit_tool(
        sql_agent,
        name="ask_database",
        description="Answer a question about the shop database (customers, products, orders).",
    )
    chatbot = create_agent(
        chat,
        tools=[tool],
        system_prompt="You are a helpful shop assistant. Use ask_database for shop questions.",
    )
    return chatbot, env


def main() -> None:
    question = sys.argv[1] if len(sys.argv) > 1 else DEMO_QUESTION
    model = chat_model(temperature=0.0)
    chatbot, env = build_chatbot(model, chat_model(), f"sqlite:///{demo_database()}")
    try:
        out = chatbot.invoke({"messages": [("user", question)]})
        print(out["messages"][-1].content)
    finally:
        env.close()


if __name__ == "__main__":
    main()
