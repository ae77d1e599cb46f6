"""The parts ALFWorld added to the core: the sub-goal critic's reading, the critic rubric,
running a whole sub-goal path, the stratified sample and react's reading of untooled replies."""

from __future__ import annotations

from collections import Counter

import pytest
from langchain_core.messages import AIMessage

from langgraph_slinvit.bench.core import BenchTask
from langgraph_slinvit.bench.methods.react import TOOL, FencedToolCalls
from langgraph_slinvit.bench.runner import select_tasks
from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.alfworld import (
    ALFWORLD_SYNTAX,
    listed_rubric,
    parse_subgoals,
    subgoal_plan,
)
from langgraph_slinvit.envs.base import TEXT_SYNTAX, CriticRubric, critic_rubric_of
from langgraph_slinvit.episode import actions_to_run
from langgraph_slinvit.prompts import CRITIC_QUESTION, SUBMIT, critic_messages


def test_parse_subgoals_reads_the_last_count() -> None:
    assert parse_subgoals("find, take, clean, put. Sub-goals: 2 of 4") == 0.5
    assert parse_subgoals("subgoals: 1/3 ... no: Sub-goals: 3 out of 3") == 1.0
    assert parse_subgoals("Sub-goals: 7 of 3") == 1.0  # clipped
    assert parse_subgoals("Sub-goals: 0 of 0") is None
    assert parse_subgoals("Score: 8") is None


def test_the_generic_critic_prompt_is_unchanged_and_a_rubric_replaces_its_question() -> None:
    steps = [{"action": "look", "observation": {"output": "You see a desk 1."}}]
    generic = str(critic_messages("find a pen", steps, TEXT_SYNTAX)[0].content)
    assert generic.endswith(CRITIC_QUESTION) and generic.startswith("Task: find a pen\n\n")
    assert '"Score: N"' in generic
    own = str(critic_messages("find a pen", steps, TEXT_SYNTAX, "How many hold?")[0].content)
    assert own.endswith("How many hold?") and "Score: N" not in own

    class Plain:
        pass

    class Judged:
        def critic_rubric(self) -> CriticRubric:
            return CriticRubric("How many hold?", parse_subgoals)

    class Wrong:
        def critic_rubric(self) -> str:
            return "not a rubric"

    assert critic_rubric_of(Plain()) is None
    assert critic_rubric_of(Judged()).question == "How many hold?"
    with pytest.raises(TypeError, match="must return a CriticRubric"):
        critic_rubric_of(Wrong())


def _path(*actions: str) -> dict:
    return {"actions": list(actions), "p_llm": [0.5] * len(actions), "rollouts": []}


def test_execute_path_runs_every_action_of_the_chosen_path_up_to_a_submit() -> None:
    first_only, whole = SlinvitConfig(depth=2), SlinvitConfig(depth=2, execute_path=True)
    assert actions_to_run(_path("go to desk 1", "take pen 1"), first_only) == ["go to desk 1"]
    assert actions_to_run(_path("go to desk 1", "take pen 1"), whole) == [
        "go to desk 1",
        "take pen 1",
    ]
    assert actions_to_run(_path("go to desk 1", SUBMIT), whole) == ["go to desk 1"]


def test_per_level_takes_the_same_number_of_each_difficulty_from_the_seeded_shuffle() -> None:
    tasks = [BenchTask(f"t{i}", i, "", "abc"[i % 3] if i < 12 else "c", None) for i in range(20)]
    sample = select_tasks(tasks, per_level=2, seed=1)
    assert Counter(t.difficulty for t in sample) == {"a": 2, "b": 2, "c": 2}
    assert [t.index for t in sample] == sorted(t.index for t in sample)  # suite order
    assert select_tasks(tasks, per_level=2, seed=1) == sample
    assert select_tasks(tasks, per_level=2, seed=2) != sample
    with pytest.raises(ValueError, match="per_level"):
        select_tasks(tasks, per_level=2, limit=3)


def test_react_runs_the_legal_action_an_untooled_reply_names() -> None:
    legal = ["go to desk 1", "go to shelf 2", "look"]
    middleware = FencedToolCalls(lambda: legal, ALFWORLD_SYNTAX)
    made_up = middleware._fixed(AIMessage('{{"name": "go to shelf 2", "arguments": null}}'))
    assert [(c["name"], c["args"]) for c in made_up.tool_calls] == [
        (TOOL, {"action": "go to shelf 2"})
    ]
    prose = middleware._fixed(AIMessage("I will look around first."))
    assert prose.tool_calls[0]["args"] == {"action": "look"}
    nothing = middleware._fixed(AIMessage("I am not sure what to do."))
    assert nothing.tool_calls == []
    # without the suite's setting the reply stays an answer, as on the other suites
    assert FencedToolCalls()._fixed(AIMessage("I will look around first.")).tool_calls == []


@pytest.mark.parametrize(
    ("task_type", "sentence", "plan"),
    [
        (
            "pick",
            "put some watch on safe.",
            ["find the watch", "take the watch", "put the watch in/on the safe"],
        ),
        (
            "clean",
            "put a clean bowl in cabinet.",
            [
                "find the bowl",
                "take the bowl",
                "clean the bowl with a sinkbasin",
                "put the bowl in/on the cabinet",
            ],
        ),
        (
            "heat",
            "heat some egg and put it in garbagecan.",
            [
                "find the egg",
                "take the egg",
                "heat the egg with a microwave",
                "put the egg in/on the garbagecan",
            ],
        ),
        (
            "cool",
            "put a cool bread in countertop.",
            [
                "find the bread",
                "take the bread",
                "cool the bread with a fridge",
                "put the bread in/on the countertop",
            ],
        ),
        (
            "look",
            "examine the book with the desklamp.",
            ["find the book", "take the book", "find the desklamp", "use the desklamp"],
        ),
        (
            "look",
            "look at cd under the floorlamp.",
            ["find the cd", "take the cd", "find the floorlamp", "use the floorlamp"],
        ),
        (
            "pick two",
            "find two cd and put them in safe.",
            [
                "find a cd",
                "take the cd",
                "put the cd in/on the safe",
                "find a second cd",
                "take the second cd",
                "put it in/on the safe",
            ],
        ),
    ],
)
def test_the_sub_goals_of_each_task_type_come_from_its_sentence(
    task_type: str, sentence: str, plan: list[str]
) -> None:
    assert subgoal_plan(task_type, sentence) == plan


def test_an_unknown_task_type_is_refused_and_an_unread_sentence_keeps_the_type_s_plan() -> None:
    with pytest.raises(ValueError, match="unknown ALFWorld task type"):
        subgoal_plan("juggle", "juggle three apples.")
    assert subgoal_plan("heat", "warm it up.") == [
        "find the object",
        "take the object",
        "heat the object with a microwave",
        "put the object in/on the target",
    ]


def test_the_listed_critic_names_the_sub_goals_and_counts_out_of_their_number() -> None:
    rubric = listed_rubric("clean", "put a clean bowl in cabinet.")
    assert "The task has 4 sub-goals, in order:\n1. find the bowl\n2. take the bowl" in (
        rubric.question
    )
    assert rubric.question.endswith('"Sub-goals: H of 4".')
    assert rubric.parse("Sub-goals: 2 of 4") == 0.5
    assert rubric.parse("Sub-goals: 1 of 1") == 0.25  # the model's own total is not taken
    assert rubric.parse("Sub-goals: 9 of 4") == 1.0
    assert rubric.parse("two hold") is None


def test_the_listed_critic_is_part_of_the_identity_of_the_runs_that_ask_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from langgraph_slinvit import cli
    from langgraph_slinvit.bench.cli import suite_options
    from langgraph_slinvit.bench.suites.alfworld import ALFWorldSuite

    first = ALFWorldSuite()  # the first runs' critic: their identity stays as it was
    assert first.settings("slinvit") == first.settings("lats") == {"max_steps": 50}
    listed = ALFWorldSuite(critic="listed")
    assert listed.settings("slinvit") == {"max_steps": 50, "critic": "listed"}
    assert listed.settings("single") == {"max_steps": 50}  # it asks no critic
    with pytest.raises(ValueError, match="critic must be one of open, listed"):
        ALFWorldSuite(critic="closed")  # type: ignore[arg-type]
    parser = cli.build_parser()
    base = ["bench", "--method", "slinvit", "--alfworld-critic", "listed"]
    assert suite_options(parser.parse_args([*base, "--suite", "alfworld"])) == {
        "critic": "listed",
        "rule_value": False,
        "new_replies": False,
    }
    ruled = ALFWorldSuite(rule_value=True)
    assert ruled.settings("slinvit") == {"max_steps": 50, "rule_value": "sub-goals, lamp at hand"}
    assert ruled.settings("react") == first.settings("react")
    assert first.value_fn(None) is None  # type: ignore[arg-type]
    assert ruled.value_fn(None) is not None  # type: ignore[arg-type]
    assert cli.main([*base, "--suite", "blocksworld"]) == 2
    assert "--alfworld-critic applies to --suite alfworld only" in capsys.readouterr().err


def test_a_lamp_task_is_done_only_with_the_object_held_where_the_lamp_is_on() -> None:
    from langgraph_slinvit.envs.alfworld import subgoal_progress

    task = "look at book under the desklamp."
    lamp_on = [
        "You are in the middle of a room.",
        "You arrive at desk 1. On the desk 1, you see a desklamp 1, and a pen 1.",
        "You turn on the desklamp 1.",
        "You arrive at bed 1. On the bed 1, you see a book 1.",
        "You pick up the book 1 from the bed 1.",
    ]
    assert subgoal_progress("look", task, lamp_on[:3]) == 0.0  # no book found yet
    assert subgoal_progress("look", task, lamp_on) == 0.75  # held, but away from the lamp
    back = [*lamp_on, "You arrive at desk 1. On the desk 1, you see a desklamp 1, and a pen 1."]
    assert subgoal_progress("look", task, back) == 1.0
    assert subgoal_progress("look", task, [*back, "You turn off the desklamp 1."]) == 0.75


def test_new_replies_count_only_texts_not_read_before_and_never_a_failed_action() -> None:
    from langgraph_slinvit.envs.alfworld import new_replies

    shelf = "You arrive at shelf 1. On the shelf 1, you see a vase 1."
    cabinet = "The cabinet 1 is open. In it, you see a plate 1."
    intro = "You are in the middle of a room."
    assert new_replies([intro]) == 0.0  # no action yet
    assert new_replies([intro, shelf, cabinet]) == 1.0
    assert new_replies([intro, shelf, cabinet, cabinet]) == 0.5  # the second examine repeats
    assert new_replies([intro, cabinet, shelf, cabinet]) == 0.5  # read two steps before
    assert new_replies([intro, cabinet, cabinet]) == 0.5  # the path's own first reply counts
    assert new_replies([intro, shelf, "Nothing happens.", cabinet]) == 0.5
    assert new_replies([intro, "Nothing happens."]) == 0.0  # a failure is never news
    assert new_replies([intro, shelf, cabinet], last=1) == 1.0


def test_the_exploring_value_ranks_progress_first_then_new_replies() -> None:
    from langgraph_slinvit.envs.alfworld import (
        NEW_REPLY_WEIGHT,
        exploring_progress,
        subgoal_plan,
        subgoal_progress,
    )

    task = "put some saltshaker on cabinet."
    start = ["You are in the middle of a room.", "You arrive at cabinet 1. You see a plate 1."]
    again = [*start, "You arrive at cabinet 1. You see a plate 1."]
    elsewhere = [*start, "You arrive at cabinet 2. You see a saltshaker 1."]
    explored = [*start, "You arrive at drawer 1. You see a fork 1."]
    assert subgoal_progress("pick", task, again) == subgoal_progress("pick", task, explored) == 0
    assert exploring_progress("pick", task, explored) > exploring_progress("pick", task, again)
    assert exploring_progress("pick", task, elsewhere) > exploring_progress("pick", task, explored)
    # one sub-goal more outweighs any news: the smallest sub-goal share is pick two's sixth
    most = len(subgoal_plan("pick two", "put two pillow in sofa."))
    assert most == 6 and (1 - NEW_REPLY_WEIGHT) / most > NEW_REPLY_WEIGHT
    won = [
        *elsewhere,
        "You pick up the saltshaker 1 from the cabinet 2.",
        "You move the saltshaker 1 to the cabinet 1.",
    ]
    assert exploring_progress("pick", task, won) == 1.0


def test_new_replies_are_a_rule_value_setting_with_their_own_identity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from langgraph_slinvit import cli
    from langgraph_slinvit.bench.cli import suite_options
    from langgraph_slinvit.bench.suites.alfworld import ALFWorldSuite

    exploring = ALFWorldSuite(rule_value=True, new_replies=True)
    assert exploring.settings("slinvit") == {
        "max_steps": 50,
        "rule_value": "sub-goals, lamp at hand, new replies",
    }
    assert exploring.settings("react") == ALFWorldSuite().settings("react")
    hook = exploring.value_fn(None)  # type: ignore[arg-type]
    assert hook is not None and hook.__name__ == "alfworld_exploring_value"
    with pytest.raises(ValueError, match="needs rule_value=True"):
        ALFWorldSuite(new_replies=True)
    parser = cli.build_parser()
    base = ["bench", "--suite", "alfworld", "--method", "slinvit", "--alfworld-rule-value"]
    options = suite_options(parser.parse_args([*base, "--alfworld-new-replies"]))
    assert options["rule_value"] is True and options["new_replies"] is True
    assert (
        cli.main(["bench", "--suite", "alfworld", "--method", "slinvit", "--alfworld-new-replies"])
        == 2
    )
    assert "add --alfworld-rule-value" in capsys.readouterr().err
