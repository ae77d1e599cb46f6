"""Malformed model output never crashes the agent; unusable replies are recorded as such.

The scripted model answers *every* request (proposals, rollouts, the summary) with the same
hostile text, over a real temporary SQLite file, with and without a checkpointer (whose
serialiser and action journal must also cope with the text).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.envs import SQLEnvironment
from langgraph_slinvit.testing import ScriptedChatModel
from tests.conftest import SHOP_SQL

NO_ACTION = "The model proposed no usable action."
HORIZON = 3
STOP_REASONS = {"horizon", "submitted", "no_result", "max_llm_calls", "max_tokens", "max_seconds"}

UNUSABLE = {
    "prose": "You should compare the customers table with the orders table to find them.",
    "refusal": "I can't help with that.",
    "empty": "",
    "blank": " \n\t ",
    "only_fences": "```\n```",
    "fences_no_newline": "``````",
    "tagged_empty_fence": "```sql\n```",
    "wrong_language": "```python\nprint('hello')\n```",
}
ODD = {
    "several_blocks": "```sql\nSELECT 1\n```\nor\n```sql\nDROP TABLE customers\n```",
    "garbage_bytes": "\x00\x01\x02\x7f\xff\ufffd\u202e\ud800 ```sql\nSELECT '\udcff'\x00\n```",
    "random_unicode": "𝕊𝔼𝕃𝔼ℂ𝕋 ✓ 中文 العربية \u200b\u2028```sql\nSELECT 'ø' AS \"ü\"\n```",
    "lone_surrogate_sql": "```sql\nSELECT '\ud83d'\n```",
    "nul_injection": "```sql\nSELECT 1\x00; DROP TABLE customers\n```",
    "5000_lines": "```sql\n" + "SELECT 1 UNION ALL\n" * 4999 + "SELECT 1\n```",
    "unclosed_fence": "```sql\nSELECT name FROM customers",
}


@pytest.fixture(scope="module")
def shop_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("malformed") / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(SHOP_SQL)
    conn.commit()
    conn.close()
    yield path


def always(text: str) -> ScriptedChatModel:
    return ScriptedChatModel(responder=lambda messages, n: [text] * n, calls=[])


def run(text: str, db: Path, tmp_path: Path, *, checkpointer: bool, **cfg: object) -> dict:
    config = SlinvitConfig(
        **{
            "k": 2,
            "rollouts": 1,
            "horizon": HORIZON,  # type: ignore[arg-type]
            "journal_path": str(tmp_path / "journal.db"),
            **cfg,
        }
    )
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with SQLEnvironment(f"sqlite:///{db}") as env:
        agent = create_slinvit_agent(
            always(text), env, config=config, checkpointer=InMemorySaver() if checkpointer else None
        )
        out = agent.invoke(
            {"messages": [("user", "Which customers never placed an order?")]},
            {"configurable": {"thread_id": "t"}},
        )
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    return out


def check_ended_cleanly(out: dict, max_llm_calls: int = 80) -> None:
    assert isinstance(out["messages"][-1], AIMessage)
    assert out["messages"][-1].content == out["answer"] and out["answer"].strip()
    assert out["stop_reason"] in STOP_REASONS
    assert len(out["steps"]) <= HORIZON
    assert out["usage"]["llm_calls"] <= max_llm_calls


@pytest.mark.parametrize("checkpointer", [False, True], ids=["plain", "checkpointed"])
@pytest.mark.parametrize("text", list(UNUSABLE.values()), ids=list(UNUSABLE))
def test_unusable_replies_are_recorded_and_the_horizon_holds(
    shop_file: Path, tmp_path: Path, text: str, checkpointer: bool
) -> None:
    out = run(text, shop_file, tmp_path, checkpointer=checkpointer)
    check_ended_cleanly(out)
    assert out["stop_reason"] == "horizon"
    assert len(out["steps"]) == HORIZON
    for step in out["steps"]:
        assert step["action"] == ""
        assert step["observation"]["output"] == NO_ACTION
        assert not step["observation"]["ok"]
    assert out["answer"].startswith("I could not find an answer")
    # one proposal request per decision plus one asking for different actions; no rollouts
    assert out["usage"]["llm_calls"] == 2 * HORIZON
    assert out["usage"]["rollouts"] == 0 and out["usage"]["env_steps"] == 0


@pytest.mark.parametrize("checkpointer", [False, True], ids=["plain", "checkpointed"])
@pytest.mark.parametrize("text", list(ODD.values()), ids=list(ODD))
def test_odd_replies_never_crash(
    shop_file: Path, tmp_path: Path, text: str, checkpointer: bool
) -> None:
    out = run(text, shop_file, tmp_path, checkpointer=checkpointer)
    check_ended_cleanly(out)
    for step in out["steps"]:
        assert "\ud800" not in step["action"] and "\udcff" not in step["action"]
        assert len(step["action"]) <= 4000  # MAX_ACTION_CHARS
        if step["action"]:
            assert step["observation"]["output"]  # every real action has an observation


def test_several_blocks_take_the_first(shop_file: Path, tmp_path: Path) -> None:
    out = run(ODD["several_blocks"], shop_file, tmp_path, checkpointer=False)
    assert out["steps"][0]["action"] == "SELECT 1"
    assert all("DROP" not in s["action"] for s in out["steps"])


def test_nul_and_surrogates_become_error_observations(shop_file: Path, tmp_path: Path) -> None:
    out = run(ODD["nul_injection"], shop_file, tmp_path, checkpointer=True)
    first = out["steps"][0]["observation"]
    assert not first["ok"] and "NUL character" in first["output"]
    out = run(ODD["lone_surrogate_sql"], shop_file, tmp_path, checkpointer=True)
    assert out["steps"][0]["action"] == "SELECT '\ufffd'"  # replaced, then run
    assert out["steps"][0]["observation"]["ok"]


def test_5000_line_replies_stop_on_the_token_budget(shop_file: Path, tmp_path: Path) -> None:
    out = run(ODD["5000_lines"], shop_file, tmp_path, checkpointer=False, max_tokens=60_000)
    check_ended_cleanly(out)
    assert out["stop_reason"] in {"max_tokens", "submitted", "horizon"}
    spent = out["usage"]["prompt_tokens"] + out["usage"]["completion_tokens"]
    # the budget is checked before each request, so at most one request goes past it
    assert spent < 60_000 + 4 * 30_000


def test_call_budget_holds_with_unusable_replies(shop_file: Path, tmp_path: Path) -> None:
    out = run(
        UNUSABLE["prose"], shop_file, tmp_path, checkpointer=False, horizon=50, max_llm_calls=5
    )
    assert out["stop_reason"] == "max_llm_calls"
    assert out["usage"]["llm_calls"] <= 5
    assert all(s["observation"]["output"] == NO_ACTION for s in out["steps"])


model_text = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.builds(
        lambda tag, body, tail: f"```{tag}\n{body}\n```{tail}",
        st.sampled_from(["sql", "", "SQL", "python", "sqlite", "bash"]),
        st.text(max_size=200),
        st.text(max_size=20),
    ),
    st.sampled_from(
        [*UNUSABLE.values(), *ODD.values(), "SUBMIT", "submit.", "```sql\nsubmit\n```"]
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=model_text)
def test_any_model_text_one_decision_never_raises(
    shop_file: Path, tmp_path: Path, text: str
) -> None:
    out = run(text, shop_file, tmp_path, checkpointer=True, horizon=1, k=2, rollouts=1)
    assert isinstance(out["messages"][-1], AIMessage) and out["answer"].strip()
    assert out["stop_reason"] in STOP_REASONS
    assert len(out["steps"]) <= 1
