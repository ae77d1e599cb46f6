"""``slinvit bench`` end to end on two real Spider tasks (SQLite), with a scripted model.

Task 3 (``orchestra``) is answered with its gold SQL (success), task 8 (``cre_Doc_Template_Mgt``)
with a query that runs but returns the wrong rows (failure), by every method.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage, ToolMessage

from langgraph_slinvit import cli, models
from langgraph_slinvit.bench.core import BenchSettings
from langgraph_slinvit.bench.methods import METHODS
from langgraph_slinvit.bench.results import ResultsDB
from langgraph_slinvit.bench.runner import run_bench, select_tasks
from langgraph_slinvit.bench.suites.sql import SqlSuite
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.presets import preset
from langgraph_slinvit.testing import ScriptedChatModel

RIGHT_TASK, WRONG_TASK = 3, 8
WRONG_SQL = "SELECT 1"
SMALL_SEARCH = SlinvitConfig(k=2, rollouts=1, horizon=3)


@pytest.fixture
def suite(cache_dir: Path) -> SqlSuite:
    return SqlSuite(sqlite_dir=cache_dir / "spider_sqlite")


def answering_model(suite: SqlSuite) -> ScriptedChatModel:
    """Gold SQL for the right task, a wrong query for the other; tool calls as fenced JSON for
    the ReAct agent; a top score for every reflection."""
    tasks = suite.tasks()
    answers = {
        tasks[RIGHT_TASK].text: tasks[RIGHT_TASK].raw.gold,
        tasks[WRONG_TASK].text: WRONG_SQL,
    }

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        system, last = str(messages[0].content), str(messages[-1].content)
        sql = next(a for q, a in answers.items() if any(q in str(m.content) for m in messages))
        if "execute tool" in system:
            if any(isinstance(m, ToolMessage) for m in messages):
                return ["The result above answers the question."] * n
            call = {"name": "execute", "arguments": {"query": sql}}
            return [f"```json\n{json.dumps(call)}\n```"] * n
        if "Score:" in last:
            return ["Score: 10"] * n
        return [f"```sql\n{sql}\n```"] * n

    return ScriptedChatModel(responder=responder, calls=[])


def run(suite: SqlSuite, method: str, db: ResultsDB, model: ScriptedChatModel, **kw) -> dict:
    settings = BenchSettings(slinvit=SMALL_SEARCH, **kw)
    tasks = select_tasks(suite.tasks(), indices=[RIGHT_TASK, WRONG_TASK])
    return run_bench(
        suite, method, settings, lambda t: model, "scripted", db, tasks, show_progress=False
    )


@pytest.mark.parametrize("method", list(METHODS))
def test_method_succeeds_with_gold_and_fails_with_a_wrong_query(
    method: str, suite: SqlSuite, tmp_path: Path
) -> None:
    model = answering_model(suite)
    with ResultsDB(tmp_path / "results.sqlite") as db:
        summary = run(suite, method, db, model)
        rows = {r.task_id: r for r in db.rows()}
    assert summary["n"] == 2 and summary["successes"] == 1 and summary["errors"] == 0
    right, wrong = rows["spider-dev-0003"], rows["spider-dev-0008"]
    assert right.success and right.reward == 1.0
    assert not wrong.success and wrong.reward == 0.0
    assert right.actions[-1].rstrip(";") == suite.tasks()[RIGHT_TASK].raw.gold.rstrip(";")
    assert wrong.actions[-1] == WRONG_SQL
    assert right.oracle is wrong.oracle is (method == "try-again")
    assert right.gold_empty is False and right.difficulty == "easy"
    assert "reward_order_by_only" in right.details
    for row in rows.values():
        assert 1 <= row.llm_calls <= 20
        assert row.prompt_tokens > 0 and row.completion_tokens > 0
        assert row.env_steps >= 1 and row.seconds >= 0
    if method == "try-again":  # the wrong query gets reward 0 every turn: all 10 turns are used
        assert wrong.llm_calls == 10 and wrong.details["method"]["rewards"] == [0.0] * 10
    if method == "lats":  # evaluations run in forks only; the chosen node runs for real once
        assert wrong.rollout_steps >= 1 and wrong.env_steps == 1


def test_a_second_run_resumes_without_any_model_call(suite: SqlSuite, tmp_path: Path) -> None:
    model = answering_model(suite)
    with ResultsDB(tmp_path / "results.sqlite") as db:
        first = run(suite, "slinvit", db, model)
        calls = len(model.calls)
        built = []

        def factory(temperature: float) -> ScriptedChatModel:
            built.append(temperature)
            return model

        tasks = select_tasks(suite.tasks(), indices=[RIGHT_TASK, WRONG_TASK])
        again = run_bench(
            suite,
            "slinvit",
            BenchSettings(slinvit=SMALL_SEARCH),
            factory,
            "scripted",
            db,
            tasks,
            show_progress=False,
        )
    assert first["ran"] == 2 and again["ran"] == 0 and again["skipped"] == 2
    assert len(model.calls) == calls and built == []  # no model was even built
    assert again["success_rate"] == first["success_rate"] == 0.5


def test_oracle_runs_are_recorded_apart(suite: SqlSuite, tmp_path: Path) -> None:
    model = answering_model(suite)
    with ResultsDB(tmp_path / "results.sqlite") as db:
        plain = run(suite, "slinvit", db, model)
        oracle = run(suite, "slinvit", db, model, oracle=True)
        rows = db.rows()
    assert plain["config_hash"] != oracle["config_hash"]
    assert not plain["oracle"] and oracle["oracle"] and oracle["ran"] == 2
    assert sorted(r.oracle for r in rows) == [False, False, True, True]


@pytest.fixture
def cli_env(cache_dir: Path, suite: SqlSuite, monkeypatch: pytest.MonkeyPatch) -> ScriptedChatModel:
    """The CLI's model is the scripted one; the Spider files come from the session cache."""
    model = answering_model(suite)
    monkeypatch.setenv("SLINVIT_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(models, "chat_model", lambda **kwargs: model)
    return model


def bench(args: list[str], results: Path) -> int:
    return cli.main(
        [
            "bench",
            "--suite",
            "intercode-sql",
            "--tasks",
            f"{RIGHT_TASK},{WRONG_TASK}",
            "--results",
            str(results),
            "--k",
            "2",
            "--rollouts",
            "1",
            "--horizon",
            "3",
            *args,
        ]
    )


def test_cli_json_prints_one_summary_object(cli_env, tmp_path: Path, capsys) -> None:
    results = tmp_path / "results.sqlite"
    assert bench(["--method", "slinvit", "--oracle", "--json"], results) == 0
    summary = json.loads(capsys.readouterr().out)  # the whole of stdout is one object
    assert summary["suite"] == "intercode-sql" and summary["method"] == "slinvit"
    assert summary["oracle"] is True and summary["n"] == 2 and summary["success_rate"] == 0.5
    assert summary["model"] == "local:qwen2.5-coder-1.5b-instruct"
    for key in ("mean_llm_calls", "mean_prompt_tokens", "mean_completion_tokens", "mean_tokens"):
        assert summary[key] > 0
    with sqlite3.connect(results) as conn:
        assert conn.execute("SELECT DISTINCT oracle FROM results").fetchall() == [(1,)]


def test_cli_report_labels_oracle_rows_and_writes_a_png(cli_env, tmp_path: Path, capsys) -> None:
    results = tmp_path / "results.sqlite"
    for method in ("single", "try-again"):
        assert bench(["--method", method, "--quiet"], results) == 0
    assert bench(["--method", "slinvit", "--oracle", "--quiet"], results) == 0
    capsys.readouterr()
    out, plot = tmp_path / "docs" / "results.md", tmp_path / "docs" / "results.png"
    intro = tmp_path / "intro.md"
    intro.write_text("Ran on a toy machine.\n")
    code = cli.main(
        [
            "bench",
            "report",
            "--results",
            str(results),
            "--out",
            str(out),
            "--plot",
            str(plot),
            "--intro",
            str(intro),
        ]
    )
    assert code == 0
    text = out.read_text()
    # the report says how to rebuild it, then the intro, then the tables
    command = (
        f"`slinvit bench report --results {results} --intro {intro} --out {out} --plot {plot}`"
    )
    assert text.index(command) < text.index("Ran on a toy machine.") < text.index("| single |")
    assert "## intercode-sql" in text and "## intercode-sql" in capsys.readouterr().out
    table = [line for line in text.splitlines() if line.startswith("| ")]
    single = next(line for line in table if line.startswith("| single |"))
    assert "| no |" in single and "50.0% [" in single
    assert any(line.startswith("| try-again (ORACLE) | yes |") for line in table)
    assert any(line.startswith("| slinvit (ORACLE) | yes |") for line in table)
    assert "non-empty gold" in text and "ORDER-BY-only" in text and "Spider hardness" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_errors_are_one_line(cli_env, tmp_path: Path, capsys) -> None:
    results = tmp_path / "r.sqlite"
    assert bench(["--method", "single", "--quiet"], results) == 0
    capsys.readouterr()
    missing = str(tmp_path / "missing.md")
    assert (
        cli.main(
            [
                "bench",
                "report",
                "--results",
                str(results),
                "--no-plot",
                "--out",
                str(tmp_path / "r.md"),
                "--intro",
                missing,
            ]
        )
        == 2
    )
    assert "no intro file at" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "bench",
                "--suite",
                "intercode-sql",
                "--method",
                "single",
                "--limit",
                "1",
                "--tasks",
                "3",
                "--results",
                str(tmp_path / "r.sqlite"),
            ]
        )
        == 2
    )
    assert "either --limit or --tasks" in capsys.readouterr().err
    assert cli.main(["bench", "report", "--results", str(tmp_path / "missing.sqlite")]) == 2
    assert "no results database" in capsys.readouterr().err


@pytest.mark.parametrize(("rule", "success"), [("best", True), ("last", False)])
def test_slinvit_is_scored_on_the_result_it_answers_with(
    suite: SqlSuite, tmp_path: Path, rule: str, success: bool
) -> None:
    # decision 1: the gold query and an equivalent one agree (3 of 4 samples), a wrong query
    # does not; decision 2: the samples wander to four different results, the wrong query
    # first; then it stops. The answer rests on the best-valued result ("best") or on the last
    # one ("last"), and InterCode's reward scores that query.
    gold = suite.tasks()[RIGHT_TASK].raw.gold.rstrip(";")
    same_rows = f"SELECT * FROM ({gold}) AS t"

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        body = str(messages[-1].content)
        if "Result 2" in body:
            return ["SUBMIT"] * n
        if "Result 1" in body:
            wandering = (WRONG_SQL, "SELECT 2", "SELECT 3", "SELECT 4")
            return [f"```sql\n{q}\n```" for q in wandering][:n]
        return [f"```sql\n{q}\n```" for q in (gold, same_rows, WRONG_SQL, gold)][:n]

    model = ScriptedChatModel(responder=responder, calls=[])
    cfg = SlinvitConfig(k=3, samples=4, rollouts=0, p_llm="agreement", answer_from=rule)
    tasks = select_tasks(suite.tasks(), indices=[RIGHT_TASK])
    with ResultsDB(tmp_path / "results.sqlite") as db:
        run_bench(
            suite,
            "slinvit",
            BenchSettings(slinvit=cfg),
            lambda t: model,
            "scripted",
            db,
            tasks,
            show_progress=False,
        )
        (row,) = db.rows()
    assert [a.rstrip(";") for a in row.actions] == [gold, WRONG_SQL]
    assert row.details["answer_step"] == (0 if rule == "best" else 1)
    first, second = row.details["method"]["step_values"]  # kept for analysing stops later
    assert first > second
    decisions = row.details["method"]["decisions"]  # every path's value, for separation
    assert len(decisions) == 3  # the two that acted, then the one that stopped
    assert decisions[0]["score"][decisions[0]["chosen"]] == max(decisions[0]["score"])
    assert len(decisions[0]["v_hat"]) == 3
    for path in decisions[0]["paths"]:  # no rollouts: each path valued where it ends
        (leaf,) = path["rollouts"]
        assert (leaf["length"], leaf["last"]) == (1, path["actions"][0])
    assert row.success is success


def test_vote_answers_with_the_largest_group_of_equal_results_in_one_request(
    suite: SqlSuite, tmp_path: Path
) -> None:
    # 8 samples at the SQL preset's settings: three fail alike (the largest group, but failed
    # groups come last), the wrong query twice, and three queries with the gold rows (the gold
    # query twice and an equivalent one first): the equivalent query runs for real
    gold = suite.tasks()[RIGHT_TASK].raw.gold.rstrip(";")
    same_rows = f"SELECT * FROM ({gold}) AS t"
    broken = "SELECT no_such_column FROM no_such_table"
    queries = (broken, broken, broken, WRONG_SQL, same_rows, gold, WRONG_SQL, gold)
    model = ScriptedChatModel(script=[[f"```sql\n{q}\n```" for q in queries]], calls=[])
    tasks = select_tasks(suite.tasks(), indices=[RIGHT_TASK])
    with ResultsDB(tmp_path / "results.sqlite") as db:
        summary = run_bench(
            suite,
            "vote",
            BenchSettings(slinvit=preset("sql")),
            lambda t: model,
            "scripted",
            db,
            tasks,
            show_progress=False,
        )
        (row,) = db.rows()
    assert summary["success_rate"] == 1.0 and not row.oracle and row.error is None
    assert row.actions == [same_rows] and row.llm_calls == 1 and len(model.calls) == 1
    assert model.calls[0]["n"] == 8 and model.calls[0]["kwargs"]["temperature"] == 0.6
    assert row.env_steps == 1 and row.rollout_steps == 4  # each distinct query once, in a fork
    (step,) = row.details["method"]["votes"]
    assert [(size, failed) for _, size, failed in step["groups"]] == [
        (3, True),
        (2, False),
        (3, False),
    ]
    assert row.details["method"]["stop_reason"] == "first_result"
    assert row.config["method"]["n"] == 8 and row.config["method"]["temperature"] == 0.6
