"""Bring your own environment: five methods and an ``action_syntax`` make an ``Environment``.

A toy key-value store: actions are ``SET key value`` / ``GET key``. ``fork`` copies the dict, so
rollouts can never change the real store. Its ``ActionSyntax`` tells the agent how actions are
written: the prompt asks for them in a ``kv`` fence (a ``text`` or untagged one is taken too),
and a bare ``GET key`` reply without a fence counts as an action.

    python examples/custom_environment.py
"""

from __future__ import annotations

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import ActionSyntax, Observation, default_feedback_value


class KeyValueEnvironment:
    action_syntax = ActionSyntax(
        name="kv",
        description="key-value store",
        tags=frozenset({"kv", "text", ""}),
        bare=r"(?i)(GET|SET)\s+\S",
    )

    def __init__(self, data: dict[str, str] | None = None) -> None:
        self.data = dict(data or {})

    def describe(self) -> str:
        return "A key-value store. Actions: `SET key value` or `GET key`. Keys: " + ", ".join(
            sorted(self.data)
        )

    def step(self, action: str) -> Observation:
        parts = action.split(maxsplit=2)
        if len(parts) == 2 and parts[0].upper() == "GET":
            if parts[1] not in self.data:
                return Observation(output=f"no such key: {parts[1]}", ok=False, error="missing")
            value = self.data[parts[1]]
            return Observation(output=value, signature=value)
        if len(parts) == 3 and parts[0].upper() == "SET":
            self.data[parts[1]] = parts[2]
            return Observation(output="OK", signature=f"set:{parts[1]}={parts[2]}")
        return Observation(output=f"cannot parse: {action!r}", ok=False, error="syntax")

    def fork(self) -> KeyValueEnvironment:
        return KeyValueEnvironment(self.data)

    def feedback_value(self, obs: Observation) -> float:
        return default_feedback_value(obs)

    def close(self) -> None:
        pass


def main() -> None:
    from langgraph_slinvit.models import chat_model

    env = KeyValueEnvironment({"capital_of_norway": "Oslo", "capital_of_italy": "Rome"})
    agent = create_slinvit_agent(chat_model(), env, search=SlinvitConfig(k=2, rollouts=1))
    out = agent.invoke({"messages": [("user", "What is the capital of Norway?")]})
    print(out["answer"])


if __name__ == "__main__":
    main()
