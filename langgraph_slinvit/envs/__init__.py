"""Environments: where actions run. See :mod:`langgraph_slinvit.envs.base` for the protocol."""

from langgraph_slinvit.envs.base import Environment, Observation, default_feedback_value
from langgraph_slinvit.envs.shell import (
    ShellEnvironment,
    ShellEnvironmentError,
    default_sandbox,
    unsandboxed,
)
from langgraph_slinvit.envs.sql import SQLEnvironment, SQLEnvironmentError

__all__ = [
    "Environment",
    "Observation",
    "SQLEnvironment",
    "SQLEnvironmentError",
    "ShellEnvironment",
    "ShellEnvironmentError",
    "default_feedback_value",
    "default_sandbox",
    "unsandboxed",
]
