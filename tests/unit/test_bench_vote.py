"""The ``vote`` baseline: n samples of one request, each run in a fork, the action of the largest
group of equal results runs for real (failed groups last, ties to the earlier sample)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from langchain_core.messages import BaseMessage

from langgraph_slinvit.bench.core import BenchSettings, BenchTask, Job
from langgraph_slinvit.bench.methods import slinvit, vote
from langgraph_slinvit.bench.report import render_markdown
from langgraph_slinvit.bench.results import ResultRow, ResultsDB, config_hash
from langgraph_slinvit.bench.runner import run_bench, select_tasks
from langgraph_slinvit.bench.suites import make_suite
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.base import Observation
from langgraph_slinvit.presets import preset
from langgraph_slinvit.testing import ScriptedChatModel
from tests.unit.result_rows import result_row


class TableEnv:
    """An action's result is ``results[action]`` (an action named ``err...`` fails with the
    error after ``err``); ``inc`` adds one to a counter, and the counter reaching ``goal`` ends
    the episode. ``log`` records every action run, in forks or for real."""

    language = "bash"

    def __init__(self, results: dict[str, str], goal: int = 0, log: list | None = None) -> None:
        self.results, self.goal, self.count = results, goal, 0
        self.log: list[tuple[str, str]] = log if log is not None else []
        self.is_fork = False

    def describe(self) -> str:
        return "a table of results"

    def step(self, action: str) -> Observation:
        self.log.append(("fork" if self.is_fork else "real", action))
        if action.startswith("err"):
            return Observation(output=f"Error: {action[3:]}", ok=False, error=action[3:])
        if action == "inc":
            self.count += 1
            done = self.goal > 0 and self.count >= self.goal
            return Observation(
                output=f"count {self.count}", signature=str(self.count), terminal=done
            )
        out = self.results.get(action, "?")
        return Observation(output=out, signature=out)

    def fork(self) -> TableEnv:
        twin = TableEnv(self.results, self.goal, self.log)
        twin.count, twin.is_fork = self.count, True
        return twin

    def feedback_value(self, obs: Observation) -> float:
        return 1.0 if obs.ok else 0.0

    def close(self) -> None:
        pass


def _fenced(*actions: str) -> list[str]:
    return [f"```bash\n{a}\n```" for a in actions]


def _job(env: TableEnv, model: ScriptedChatModel, **slinvit_settings) -> Job:
    cfg = SlinvitConfig(**{"samples": 4, "stop_when": "first_result", **slinvit_settings})
    task = BenchTask("t", 0, "answer the question", "easy", None)
    settings = BenchSettings(slinvit=cfg)
    return Job(None, task, env, env.describe(), settings, lambda t: model)  # type: ignore[arg-type]


def test_the_largest_group_of_equal_results_wins_with_its_earliest_action() -> None:
    env = TableEnv({"a": "1", "b": "2", "c": "2", "d": "3"})
    winner, groups, _ = vote.vote_step(env, _fenced("a", "b", "c", "d"), None)
    assert winner is not None and winner.action == "b" and winner.size == 2
    assert [(g.action, g.size) for g in groups] == [("a", 1), ("b", 2), ("d", 1)]
    # each distinct action ran once, in a fork; nothing ran for real
    assert env.log == [("fork", "a"), ("fork", "b"), ("fork", "c"), ("fork", "d")]


def test_a_tie_goes_to_the_group_of_the_earlier_sample() -> None:
    env = TableEnv({"a": "1", "b": "2"})
    winner, _, _ = vote.vote_step(env, _fenced("b", "a", "a", "b"), None)
    assert winner is not None and winner.action == "b"
    winner, _, _ = vote.vote_step(env, _fenced("a", "b"), None)
    assert winner is not None and winner.action == "a"


def test_failed_samples_group_by_their_error_and_never_beat_a_result() -> None:
    env = TableEnv({"a": "1"})
    # three samples failing alike form one group, yet one result that ran beats it
    winner, groups, _ = vote.vote_step(env, _fenced("errX", "errX ", "errX", "a"), None)
    assert winner is not None and winner.action == "a"
    assert [(g.size, g.failed) for g in groups] == [(3, True), (1, False)]
    # the same size: the result wins although the failed group has the earlier sample
    winner, _, _ = vote.vote_step(env, _fenced("errX", "a"), None)
    assert winner is not None and winner.action == "a"
    # when nothing ran without failing, the largest group of equal errors wins
    winner, groups, _ = vote.vote_step(env, _fenced("errX", "errY", "errY"), None)
    assert winner is not None and winner.action == "errY" and len(groups) == 2
    # no usable action in any sample: no group, no winner
    assert vote.vote_step(env, ["I cannot help", ""], None)[0] is None


def test_a_repeat_of_the_last_action_votes_to_submit() -> None:
    env = TableEnv({"a": "1", "b": "2"})
    winner, _, _ = vote.vote_step(env, _fenced("a", "a", "b", "SUBMIT"), "a")
    assert winner is not None and winner.action == "SUBMIT" and winner.size == 3


def test_one_request_of_n_samples_per_step_and_one_real_action_until_terminal() -> None:
    model = ScriptedChatModel(script=[_fenced("inc", "inc", "x", "errE")] * 5, calls=[])
    env = TableEnv({"x": "0"}, goal=3)
    result = vote.run(_job(env, model, stop_when="submit", horizon=6, repeat_means_submit=False))
    assert result.actions == ["inc", "inc", "inc"] and result.details["stop_reason"] == "terminal"
    assert [a for where, a in env.log if where == "real"] == ["inc"] * 3
    assert [c["n"] for c in model.calls] == [4, 4, 4]  # one request of n samples per step
    assert result.usage["llm_calls"] == 3 and result.usage["env_steps"] == 3
    assert result.usage["rollout_steps"] == 9  # three distinct actions in forks, per step
    assert not result.oracle


def test_the_horizon_and_the_submit_vote_end_an_episode() -> None:
    model = ScriptedChatModel(script=[_fenced("inc")] * 5, calls=[])
    job = _job(TableEnv({}), model, stop_when="submit", horizon=2, repeat_means_submit=False)
    result = vote.run(job)
    assert result.actions == ["inc", "inc"] and result.details["stop_reason"] == "horizon"
    assert len(model.calls) == 2
    model = ScriptedChatModel(script=[_fenced("a"), _fenced("a", "a", "b", "b")], calls=[])
    result = vote.run(_job(TableEnv({"a": "1", "b": "2"}), model, stop_when="submit"))
    assert result.actions == ["a"] and result.details["stop_reason"] == "submitted"


def test_first_result_answers_with_one_request_and_errors_are_voted_past() -> None:
    # the SQL preset's stop rule: the first step whose action ran without failing ends it
    model = ScriptedChatModel(script=[_fenced("errE", "errE"), _fenced("errF", "a")], calls=[])
    result = vote.run(_job(TableEnv({"a": "1"}), model, samples=2))
    assert result.actions == ["errE", "a"] and result.details["stop_reason"] == "first_result"
    assert result.answer_step == 1 and len(model.calls) == 2
    model = ScriptedChatModel(script=[_fenced("a", "b", "b")], calls=[])
    result = vote.run(_job(TableEnv({"a": "1", "b": "2"}), model, samples=3))
    assert result.actions == ["b"] and len(model.calls) == 1


def test_the_budget_ends_an_episode() -> None:
    model = ScriptedChatModel(script=[_fenced("inc")] * 5, calls=[])
    job = _job(TableEnv({}), model, stop_when="submit", horizon=6, repeat_means_submit=False)
    job.settings = BenchSettings(max_llm_calls=2, slinvit=job.settings.slinvit)
    result = vote.run(job)
    assert result.actions == ["inc", "inc"] and result.details["stop_reason"] == "max_llm_calls"


def test_the_run_identity_takes_n_and_temperature_from_the_slinvit_settings() -> None:
    sql = BenchSettings(slinvit=preset("sql"))
    recorded = vote.config(sql)
    assert (recorded["n"], recorded["temperature"], recorded["horizon"]) == (8, 0.6, 4)
    assert recorded["stop_when"] == "first_result" and len(recorded["prompt"]) == 8
    assert config_hash(recorded) != config_hash(slinvit.config(sql))
    hotter = BenchSettings(slinvit=preset("sql", temperature=0.9))
    assert config_hash(vote.config(hotter)) != config_hash(recorded)
    assert vote.config(BenchSettings())["n"] == SlinvitConfig().n_samples
    assert not vote.is_oracle(BenchSettings(oracle=True))


def _legal_plan(suite, task) -> list[tuple[str, str]]:
    """The gold plan as legal actions in words, each with another legal action of its state."""
    env = suite.make_env(task)
    moves = []
    for move in [a for a in task.raw.gold_plan.split("\n") if a]:
        target = env.fork().step(move).signature
        legal = env.legal_actions()
        gold = next(a for a in legal if env.fork().step(a).signature == target)
        moves.append((gold, next(a for a in legal if a != gold)))
        env.step(gold)
    env.close()
    return moves


def test_blocksworld_vote_follows_the_majority_move_to_the_goal(tmp_path: Path) -> None:
    suite = make_suite("blocksworld")
    tasks = select_tasks(suite.tasks(), indices=[0])
    moves = _legal_plan(suite, tasks[0])

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        gold, other = moves[len(re.findall(r"^Action \d+:", str(messages[-1].content), re.M))]
        # another move first, the gold move twice, then a reply that names no legal move
        return [f"```text\n{a}\n```" for a in (other, gold, gold, "I am not sure")][:n]

    model = ScriptedChatModel(responder=responder, calls=[])
    settings = BenchSettings(slinvit=preset("blocksworld"))
    with ResultsDB(tmp_path / "r.sqlite") as db:
        summary = run_bench(
            suite, "vote", settings, lambda t: model, "scripted", db, tasks, show_progress=False
        )
        row = db.rows()[0]
    assert summary["success_rate"] == 1.0 and not row.oracle
    assert row.actions == [gold for gold, _ in moves] and row.llm_calls == len(moves)
    assert row.details["method"]["stop_reason"] == "terminal"
    assert all(c["n"] == 4 for c in model.calls)


def _result(task: int, method: str, chash: str, method_config: dict, **kw) -> ResultRow:
    config = {"method": method_config, "suite": {"backend": "sqlite"}}
    return result_row(
        f"t{task:03d}", method, **{"config_hash": chash, "seconds": 1.0, "config": config, **kw}
    )


def test_report_pairs_each_slinvit_run_with_the_vote_run_of_its_n_and_temperature() -> None:
    sql = {"k": 4, "samples": 8, "temperature": 0.6, "oracle": False}
    rows = [
        _result(i, "slinvit", "s8", sql, success=i < 5, llm_calls=2, seconds=40) for i in range(6)
    ]
    rows += [
        _result(i, "vote", "v8", {"n": 8, "temperature": 0.6}, success=i in (0, 5), seconds=20)
        for i in range(7)
    ]
    rows += [_result(i, "vote", "v4", {"n": 4, "temperature": 0.6}) for i in range(6)]  # another n
    text = render_markdown(rows)
    table = [x for x in text.splitlines() if x.startswith("| slinvit") and "| 8, 0.6 |" in x]
    assert len(table) == 1  # the n=4 vote run is not paired with it
    assert table[0].endswith(
        "| 8, 0.6 | 6 | 83.3% vs 33.3% | 2.0 vs 1.0 | 40.0 vs 20.0 | 4 / 1 | 0.375 |"
    )
    assert "No `vote` run" not in text
    # a SLINVIT run that no vote run matches (n = max(k, 4) when samples is 0) is named
    other = {"k": 3, "samples": 0, "temperature": 0.8, "oracle": False}
    rows += [_result(i, "slinvit", "s0", other) for i in range(6)]
    text = render_markdown(rows)
    assert (
        "No `vote` run of the same model, n and temperature for the SLINVIT runs at "
        "n=4, temperature 0.8 (1 run)." in text
    )
    only_slinvit = render_markdown([r for r in rows if r.method == "slinvit"])
    assert only_slinvit.count("No `vote` run") == 1
    assert "No `vote` run" not in render_markdown([r for r in rows if r.method == "vote"])


def test_the_reply_cap_reaches_every_vote_request_and_names_a_new_run_only_when_set() -> None:
    model = ScriptedChatModel(script=[_fenced("inc")] * 3, calls=[])
    job = _job(TableEnv({}, goal=2), model, stop_when="submit", reply_tokens=48)
    vote.run(job)
    assert [c["kwargs"]["max_tokens"] for c in model.calls] == [48, 48]
    default = BenchSettings(slinvit=preset("sql"))
    assert "reply_tokens" not in vote.config(default)  # published votes keep their hashes
    capped = vote.config(BenchSettings(slinvit=preset("sql", reply_tokens=48)))
    assert capped["reply_tokens"] == 48
    assert config_hash(capped) != config_hash(vote.config(default))
