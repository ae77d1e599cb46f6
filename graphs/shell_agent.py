"""Studio entry point: the SLINVIT shell agent (bash in a bubblewrap sandbox).

Working directory: ``$SLINVIT_WORKDIR``, default a fresh demo folder of notes. Model as in
``sql_agent.py``. Exported without a checkpointer.
"""

import os

from langgraph_slinvit import SlinvitConfig, build_slinvit_graph
from langgraph_slinvit.demo import demo_workspace
from langgraph_slinvit.envs import ShellEnvironment
from langgraph_slinvit.models import default_chat_model

env = ShellEnvironment(os.environ.get("SLINVIT_WORKDIR") or demo_workspace())
graph = build_slinvit_graph(default_chat_model, env, config=SlinvitConfig()).compile(
    name="slinvit_shell"
)
