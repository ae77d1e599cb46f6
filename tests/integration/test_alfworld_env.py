"""ALFWorldEnvironment on the real TextWorld engine and the 134 valid_unseen games."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.bench.runner import select_tasks
from langgraph_slinvit.bench.suites.alfworld import ALFWorldSuite, task_sentence
from langgraph_slinvit.bench.tasks import resolve_data_dir
from langgraph_slinvit.envs.alfworld import (
    TASK_TYPES,
    ALFWorldEnvironment,
    ALFWorldGame,
    load_alfworld_games,
)
from langgraph_slinvit.envs.base import Environment, critic_rubric_of, legal_actions_of
from langgraph_slinvit.prompts import format_trajectory
from langgraph_slinvit.testing import ScriptedChatModel

pytestmark = pytest.mark.alfworld

ARCHIVE = resolve_data_dir() / "alfworld" / "valid_unseen.tar.gz"


@pytest.fixture(scope="module")
def games(tmp_path_factory: pytest.TempPathFactory) -> list[ALFWorldGame]:
    return load_alfworld_games(ARCHIVE, cache=tmp_path_factory.mktemp("alfworld-cache"))


def one_per_type(games: Sequence[ALFWorldGame]) -> list[ALFWorldGame]:
    seen: dict[str, ALFWorldGame] = {}
    for game in games:
        seen.setdefault(game.task_type, game)
    return list(seen.values())


def test_the_134_games_and_their_six_task_types(games: list[ALFWorldGame]) -> None:
    assert len(games) == 134
    counts = Counter(g.task_type for g in games)
    assert set(counts) == set(TASK_TYPES.values())
    assert counts == {"clean": 31, "pick": 24, "heat": 23, "cool": 21, "look": 18, "pick two": 17}


def test_an_environment_shows_the_game_text_and_its_admissible_commands(
    games: list[ALFWorldGame],
) -> None:
    game = games[40]
    env = ALFWorldEnvironment(game)
    try:
        assert isinstance(env, Environment)
        assert env.task == "put some watch on safe." == task_sentence(game)
        context = env.describe()
        assert "Your task is to: put some watch on safe." in context
        assert "Welcome to TextWorld" not in context
        legal = legal_actions_of(env)
        assert legal and "go to safe 1" in legal and "help" not in legal
        assert "- go to safe 1" in context
        obs = env.step("Go to safe 1.")  # case, final period: the engine gets the command
        assert obs.ok and env.history == ["go to safe 1"]
        assert "You arrive at safe 1" in obs.output
        assert "open safe 1" in obs.details["while_latest"]
        assert obs.details["steps"] == 1 and not obs.details["won"]
        # the admissible commands are shown for the newest step only
        second = env.step("open safe 1")
        steps = [
            {"action": "go to safe 1", "observation": obs.to_dict()},
            {"action": "open safe 1", "observation": second.to_dict()},
        ]
        text = format_trajectory(steps, env.action_syntax)
        assert text.count("Admissible actions now") == 1
        assert text.index("Admissible actions now") > text.index("Result 2")
    finally:
        env.close()


def test_a_command_the_game_does_not_admit_is_a_failed_step(games: list[ALFWorldGame]) -> None:
    env = ALFWorldEnvironment(games[0], max_steps=3)
    try:
        obs = env.step("fly to the moon")
        assert obs.output == "Nothing happens." and not obs.ok and obs.details["nothing_happens"]
        assert env.feedback_value(obs) == 0.0 and env.steps_taken == 1
        good = env.step(env.legal_actions()[0])
        assert good.ok and env.feedback_value(good) == 1.0
        last = env.step("look")
        assert last.terminal and not env.won and "No steps left" in last.output
        assert env.legal_actions() == []
        after = env.step("look")
        assert after.refused and after.terminal and env.steps_taken == 3
    finally:
        env.close()


def test_a_fork_runs_its_own_copy_and_leaves_the_real_game_unchanged(
    games: list[ALFWorldGame],
) -> None:
    for game in one_per_type(games):
        walkthrough = game.walkthrough()
        real = ALFWorldEnvironment(game)
        try:
            half = len(walkthrough) // 2
            for command in walkthrough[:half]:
                assert real.step(command).ok
            before = real.state_key()
            fork = real.fork()
            assert fork.state_key() == before  # the replay is exact
            for command in walkthrough[half:]:
                fork.step(command)
            assert fork.won and fork.state_key() != before
            fork.step("fly to the moon")
            fork.close()
            assert real.state_key() == before and not real.won
            assert real.history == walkthrough[:half]
            for command in walkthrough[half:]:
                obs = real.step(command)
            assert real.won and obs.terminal and obs.details["won"]
            # winning is the reward, not the value: the win step's feedback is any step's
            assert real.feedback_value(obs) == 1.0
        finally:
            real.close()


def test_every_walkthrough_wins_when_replayed(games: list[ALFWorldGame]) -> None:
    """All 134 games: the stored expert commands win in the engine (about two minutes). Along
    each, the rule value (the sub-goals the game's replies show done) starts at 0, never falls,
    and reaches 1 when the last sub-goal shows, which is the win in 130 games; in the other 4
    the game counts the object as placed without the final move and wins at 3 of 4."""
    started, failed, short = time.perf_counter(), [], []
    for game in games:
        env = ALFWorldEnvironment(game)
        try:
            values = [env.subgoal_progress()]
            for command in game.walkthrough():
                obs = env.step(command)
                assert obs.ok, (game.game_id, command, obs.output)
                values.append(env.subgoal_progress())
            if not (env.won and obs.terminal):
                failed.append(game.game_id)
            assert values[0] == 0.0 and values == sorted(values), (game.game_id, values)
            if values[-1] != 1.0:
                short.append((game.task_type, values[-1]))
        finally:
            env.close()
    assert failed == []
    assert sorted(short) == [("clean", 0.75), ("cool", 0.75), ("cool", 0.75), ("heat", 0.75)]
    print(f"134 walkthroughs in {time.perf_counter() - started:.0f} s")


def test_the_rule_value_ignores_failed_actions_and_a_fork_reads_its_own_replies(
    games: list[ALFWorldGame],
) -> None:
    game = games[40]  # put some watch on safe: find, take, put
    walkthrough = game.walkthrough()
    env = ALFWorldEnvironment(game)
    try:
        assert env.step("take watch 9 from safe 1").error == "nothing happens"
        assert env.subgoal_progress() == 0.0
        for command in walkthrough[:2]:
            env.step(command)
        before = env.subgoal_progress()
        fork = env.fork()
        try:
            assert fork.subgoal_progress() == before
            for command in walkthrough[2:]:
                fork.step(command)
            assert fork.won and fork.subgoal_progress() == 1.0
        finally:
            fork.close()
        assert env.subgoal_progress() == before < 1.0
    finally:
        env.close()


def test_the_exploring_value_ranks_a_new_place_above_a_repeated_look(
    games: list[ALFWorldGame],
) -> None:
    """In the real game, a path that reads nothing new (``look`` twice) is worth less than one
    that goes somewhere new, before either advances a sub-goal; the real game is untouched."""
    game = games[40]  # put some watch on safe
    env = ALFWorldEnvironment(game)
    repeat = explore = None
    try:
        env.step(game.walkthrough()[0])
        before = (env.exploring_progress(), list(env.feedback))
        repeat, explore = env.fork(), env.fork()
        repeat.step("look")
        repeat.step("look")
        explore.step("look")
        elsewhere = [a for a in explore.legal_actions() if a.startswith("go to ")]
        explore.step(elsewhere[-1])
        assert repeat.feedback[-1] == repeat.feedback[-2]  # the game said the same twice
        assert repeat.subgoal_progress() == explore.subgoal_progress()
        assert explore.exploring_progress() > repeat.exploring_progress()
        assert (env.exploring_progress(), env.feedback) == before
    finally:
        for e in (repeat, explore, env):
            if e is not None:
                e.close()


def test_the_sub_goal_critic_and_a_slinvit_run_that_executes_whole_sub_goals(
    games: list[ALFWorldGame],
) -> None:
    """A scripted model proposes the walkthrough; the critic's rubric is the sub-goal count;
    with ``execute_path`` each decision runs both actions of its depth-2 path."""
    game = games[40]
    walkthrough = game.walkthrough()
    env = ALFWorldEnvironment(game)
    rubric = critic_rubric_of(env)
    assert rubric is not None and "Sub-goals: H of T" in rubric.question
    critic_prompts: list[str] = []

    def responder(messages: Sequence[BaseMessage], n: int) -> list[str]:
        body = str(messages[-1].content)
        if "Sub-goals: H of T" in body:
            critic_prompts.append(body)
            return ["find the watch, take it, put it in the safe. Sub-goals: 1 of 3"] * n
        if "Answer the task" in body:
            return ["Done."] * n
        done = body.count("\nResult ")
        return [f"```text\n{walkthrough[min(done, len(walkthrough) - 1)]}\n```"] * n

    model = ScriptedChatModel(responder=responder, calls=[])
    config = SlinvitConfig(
        k=1,
        depth=2,
        rollouts=0,
        execute_path=True,
        value="feedback+critic",
        horizon=50,
        samples=2,
        repeat_means_submit=False,
        summarize_answer=False,
        max_llm_calls=100,
    )
    agent = create_slinvit_agent(model, env, config=config)
    try:
        final = agent.invoke({"messages": [("user", env.task)]})
    finally:
        env.close()
    assert env.won and final["stop_reason"] == "terminal"
    assert env.history == walkthrough
    decisions = [s["decision"] for s in final["steps"]]
    assert decisions[:2] == [0, 0] and decisions[2:4] == [1, 1]  # two real actions each
    assert critic_prompts and "Action 1:" in critic_prompts[0]


def test_the_suite_samples_six_games_of_each_type_and_scores_the_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLINVIT_CACHE_DIR", str(tmp_path))  # the games unpack there
    suite = ALFWorldSuite()
    tasks = suite.tasks()
    assert len(tasks) == 134
    sample = select_tasks(tasks, per_level=6, seed=0)
    assert Counter(t.difficulty for t in sample) == {t: 6 for t in TASK_TYPES.values()}
    assert select_tasks(tasks, per_level=6, seed=0) == sample
    task = sample[0]
    env = suite.make_env(task)
    try:
        steps = []
        for command in task.raw.walkthrough():
            steps.append({"action": command, "observation": env.step(command).to_dict()})
        evaluation = suite.evaluate(task, env, steps)
    finally:
        env.close()
    assert evaluation.success and evaluation.details["task_type"] == task.difficulty
    assert evaluation.details["engine_seconds"] > 0
    assert suite.value_fn(task) is None


def test_forks_stepped_from_parallel_threads_stay_exact(games: list[ALFWorldGame]) -> None:
    """The graph's branches fork and step games in threads: the engine's parser and translator
    keep global state, so every engine start and step holds one lock."""
    from concurrent.futures import ThreadPoolExecutor

    game = games[40]
    walkthrough = game.walkthrough()
    real = ALFWorldEnvironment(game)
    try:
        real.step(walkthrough[0])
        before = real.state_key()

        def finish(_: int) -> bool:
            fork = real.fork()
            try:
                for command in walkthrough[1:]:
                    fork.step(command)
                return fork.won
            finally:
                fork.close()

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(finish, range(8))) == [True] * 8
        assert real.state_key() == before
        assert real.engine_seconds > 0
    finally:
        real.close()


def test_every_game_s_sentence_gives_its_type_s_sub_goals_and_forks_keep_the_critic(
    games: list[ALFWorldGame],
) -> None:
    """The listed critic's sub-goals read every game's own task sentence (no placeholder left),
    and a fork asks the same critic as its game."""
    from langgraph_slinvit.bench.suites.alfworld import task_sentence
    from langgraph_slinvit.envs.alfworld import subgoal_plan

    sizes = {"pick": 3, "look": 4, "clean": 4, "heat": 4, "cool": 4, "pick two": 6}
    for game in games:
        plan = subgoal_plan(game.task_type, task_sentence(game))
        assert len(plan) == sizes[game.task_type], game.game_id
        assert not any(" object" in goal or " target" in goal for goal in plan), game.game_id
    env = ALFWorldEnvironment(games[40], critic="listed")
    try:
        fork = env.fork()
        try:
            question = critic_rubric_of(fork).question
            assert fork.critic == "listed" and question == critic_rubric_of(env).question
            assert "The task has 3 sub-goals, in order:\n1. find the watch" in question
        finally:
            fork.close()
    finally:
        env.close()
    with pytest.raises(ValueError, match="critic must be one of"):
        ALFWorldEnvironment(games[40], critic="closed")  # type: ignore[arg-type]
