"""Studio entry point: the SLINVIT shell agent (bash in a bubblewrap sandbox).

Working directory: ``$SLINVIT_WORKDIR``, default a fresh demo folder of notes. Model as in
``sql_agent.py``. Exported without a checkpointer. The sandbox is built on the first run, so the
server starts (and serves the other graphs) on a machine without bubblewrap; that run then fails
with the reason.
"""

import os

from langgraph_slinvit import build_slinvit_graph
from langgraph_slinvit.demo import demo_workspace
from langgraph_slinvit.envs import ShellEnvironment, ShellEnvironmentError
from langgraph_slinvit.envs.lazy import LazyEnvironment
from langgraph_slinvit.envs.sandbox import SandboxUnavailableError
from langgraph_slinvit.models import default_chat_model


def shell_environment() -> ShellEnvironment:
    """The demo shell environment, in a bubblewrap sandbox (a clear error without one)."""
    try:
        return ShellEnvironment(os.environ.get("SLINVIT_WORKDIR") or demo_workspace())
    except SandboxUnavailableError as exc:
        raise ShellEnvironmentError(
            f"the shell agent runs bash in a bubblewrap (bwrap) sandbox, which is unavailable "
            f"here: {exc}. Install bubblewrap (e.g. apt-get install bubblewrap) and allow "
            "unprivileged user namespaces."
        ) from exc


env = LazyEnvironment(shell_environment, ShellEnvironment)
graph = build_slinvit_graph(default_chat_model, env).compile(name="slinvit_shell")
