"""langgraph-slinvit: LangGraph agents that search (SLINVIT) before they act."""

from langgraph_slinvit.budget import BudgetExhausted
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.graph import build_slinvit_graph, create_slinvit_agent
from langgraph_slinvit.policy import ModelEndpointError
from langgraph_slinvit.presets import PRESETS, preset
from langgraph_slinvit.search import Hooks, SearchState, decide
from langgraph_slinvit.value import ValueContext

__all__ = [
    "PRESETS",
    "BudgetExhausted",
    "Hooks",
    "ModelEndpointError",
    "SearchState",
    "SlinvitConfig",
    "ValueContext",
    "build_slinvit_graph",
    "create_slinvit_agent",
    "decide",
    "preset",
]
__version__ = "0.1.0"
