"""Environments: where actions run. See :mod:`langgraph_slinvit.envs.base` for the protocol."""

from langgraph_slinvit.envs.base import (
    SHELL_SYNTAX,
    SQL_SYNTAX,
    TEXT_SYNTAX,
    ActionSyntax,
    CriticRubric,
    Environment,
    Observation,
    critic_rubric_of,
    default_feedback_value,
    default_settings_of,
    legal_actions_of,
    needs_approval_of,
    parallel_forks_of,
    syntax_of,
)
from langgraph_slinvit.envs.shell import (
    ShellEnvironment,
    ShellEnvironmentError,
    default_sandbox,
    unsandboxed,
)
from langgraph_slinvit.envs.sql import SQLEnvironment, SQLEnvironmentError

__all__ = [
    "SHELL_SYNTAX",
    "SQL_SYNTAX",
    "TEXT_SYNTAX",
    "ActionSyntax",
    "CriticRubric",
    "Environment",
    "Observation",
    "SQLEnvironment",
    "SQLEnvironmentError",
    "ShellEnvironment",
    "ShellEnvironmentError",
    "critic_rubric_of",
    "default_feedback_value",
    "default_sandbox",
    "default_settings_of",
    "legal_actions_of",
    "needs_approval_of",
    "parallel_forks_of",
    "syntax_of",
    "unsandboxed",
]
