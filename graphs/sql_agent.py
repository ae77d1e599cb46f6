"""Studio entry point: the SLINVIT SQL agent.

Database: ``$SLINVIT_DB_URL`` (any SQLAlchemy URL), default the project's demo shop database.
Model: ``$OPENAI_BASE_URL``/``$OPENAI_API_KEY`` if set, else the embedded local model (started on
the first request). Exported without a checkpointer: ``langgraph dev`` brings its own.
"""

import os

from langgraph_slinvit import build_slinvit_graph
from langgraph_slinvit.demo import demo_database
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.models import default_chat_model

env = SQLEnvironment(os.environ.get("SLINVIT_DB_URL") or f"sqlite:///{demo_database()}")
graph = build_slinvit_graph(default_chat_model, env).compile(name="slinvit_sql")
