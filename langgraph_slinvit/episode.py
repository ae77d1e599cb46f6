"""The rules of an episode around the decisions, as pure functions of plain data.

An episode is a sequence of decisions (:func:`langgraph_slinvit.search.decide`), each taking at
most one real action, until one of these stops it:

    horizon        H real actions were taken (checked before a decision and after an action)
    submitted      the chosen path is SUBMIT
    no_gain        (``stop_when`` no_gain/first_result) the choice is valued no higher than a
                   result already in hand
    terminal       the environment says the episode is over
    first_result   (``stop_when="first_result"``) the first real action that did not fail
    budget         a budget ran out (``max_llm_calls``, ``max_tokens``, ...)

Then the answer rests on one real step (:func:`answer_index`) and is rendered from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph_slinvit.config import SlinvitConfig
from langgraph_slinvit.envs.base import ActionSyntax, Environment, Observation
from langgraph_slinvit.prompts import SUBMIT
from langgraph_slinvit.proposal import is_failure
from langgraph_slinvit.records import ScoredPath, StepRecord, TreeNode
from langgraph_slinvit.search import improves_on, values_first_step

STOP_TEXT = {
    "horizon": "the horizon of real actions was reached",
    "terminal": "the environment reported the episode over",
    "no_gain": "no candidate was valued above a result already in hand",
    "first_result": "a real action returned a result (stop_when=first_result)",
    "no_action": "the model proposed no usable action",
    "max_llm_calls": "the max_llm_calls budget ran out",
    "max_tokens": "the max_tokens budget ran out",
    "max_seconds": "the max_seconds budget ran out",
    "max_rollouts": "the max_rollouts budget ran out",
}
"""Why an episode stopped, in words (``stop_reason`` -> text)."""

FINISHED = ("submitted", "terminal", "no_gain", "first_result")
"""Stop reasons of an episode that ended on its own (not cut short by the horizon or a budget)."""


def horizon_reached(decision: int, config: SlinvitConfig) -> bool:
    """True when ``decision`` real decisions were already made and H allows no more."""
    return decision >= config.horizon


def stop_before_acting(best: ScoredPath, steps: Sequence[StepRecord], config: SlinvitConfig) -> str:
    """Why the episode ends instead of running the chosen path's first action, or ``""``.

    ``submitted`` when the choice is SUBMIT; ``no_gain`` when the stop rule is ``no_gain`` or
    ``first_result`` and the choice is valued no higher than a result in hand.
    """
    if best["actions"][0] == SUBMIT:
        return "submitted"
    if config.stop_when in ("no_gain", "first_result") and not improves_on(best, steps):
        return "no_gain"
    return ""


def actions_to_run(best: ScoredPath, config: SlinvitConfig) -> list[str]:
    """The real actions a decision runs: the chosen path's first action, or with
    ``execute_path`` every action of the path up to a SUBMIT."""
    if not config.execute_path:
        return [best["actions"][0]]
    run: list[str] = []
    for action in best["actions"]:
        if action == SUBMIT:
            break
        run.append(action)
    return run


def step_record(
    action: str,
    observation: Observation,
    decision: int,
    best: ScoredPath,
    steps_before: int,
    *,
    first: bool = True,
) -> StepRecord:
    """The real step made by running one of ``best``'s actions (its first one by default; a
    later one, with ``execute_path``, never counts as a valued result in hand)."""
    return {
        "action": action,
        "observation": observation.to_dict(),
        "decision": decision,
        "score": best["score"],
        "value": best["v_hat"],
        "value_here": first and values_first_step(best, steps_before),
    }


def no_action_step(decision: int) -> StepRecord:
    """The step of a decision whose proposals held no usable action (nothing ran)."""
    obs = Observation(output="The model proposed no usable action.", ok=False, error="no action")
    return {"action": "", "observation": obs.to_dict(), "decision": decision, "score": None}


def stop_after_acting(step: StepRecord, observation: Observation, config: SlinvitConfig) -> str:
    """Why the episode ends after a real action, or ``""`` to go on deciding."""
    if observation.terminal:
        return "terminal"
    if config.stop_when == "first_result" and not is_failure(step["observation"]):
        return "first_result"
    if horizon_reached(step["decision"] + 1, config):
        return "horizon"
    return ""


def answer_index(steps: Sequence[StepRecord], env: Environment, rule: str) -> int | None:
    """The index of the real step the answer rests on (None when no action ran).

    Only steps with the best execution feedback are eligible (an answer never rests on an error
    when a result exists). ``last``: the last of them; ``best``: the one whose decision valued
    it highest (``value``), ties going to the later step.
    """
    real = [i for i, s in enumerate(steps) if s.get("action")]
    if not real:
        return None
    feedback = {i: env.feedback_value(Observation.from_dict(steps[i]["observation"])) for i in real}
    top = max(feedback.values())
    eligible = [i for i in real if feedback[i] == top]
    if rule == "last":
        return eligible[-1]
    return max(eligible, key=lambda i: (steps[i].get("value") or 0.0, i))


def final_stop_reason(reason: str, answer_step: StepRecord | None) -> str:
    """The stop reason the episode reports: a SUBMIT that ends on a failed action (or on no
    action at all) did not submit a result, so it reports ``no_result`` instead."""
    if reason == "submitted" and (answer_step is None or is_failure(answer_step["observation"])):
        return "no_result"
    return reason


def render_result(step: StepRecord, syntax: ActionSyntax) -> str:
    """A real step as answer text: the action in a fenced block, then its output."""
    return f"```{syntax.name}\n{step['action']}\n```\n{step['observation']['output']}"


def answer_text(
    answer_step: StepRecord | None, reason: str, syntax: ActionSyntax, summary: str = ""
) -> str:
    """The final answer: the summary (if any) over the rendered result, and why it stopped
    when the episode was cut short."""
    if answer_step is None:
        text = "I could not find an answer"
        return text + (f" (stopped: {stop_text(reason)})." if reason not in FINISHED else ".")
    text = render_result(answer_step, syntax)
    if summary:
        text = summary + "\n\n" + text
    if reason not in FINISHED:
        text += f"\n\n(stopped: {stop_text(reason)}; best result so far shown)"
    return text


def stop_text(reason: str) -> str:
    return STOP_TEXT.get(reason, reason)


def tree_nodes(
    decision: int, scored: Sequence[ScoredPath], best: ScoredPath | None
) -> list[TreeNode]:
    """The decision's node and one node per scored path, for the state's search ``tree``."""
    node, parent = f"d{decision}", f"d{decision - 1}" if decision else "root"
    nodes: list[TreeNode] = [{"id": node, "parent": parent, "kind": "decision"}]
    for i, path in enumerate(scored):
        nodes.append(
            {
                "id": f"{node}.p{i}",
                "parent": node,
                "kind": "path",
                "actions": path["actions"],
                "p_llm": path["p_llm"],
                "v_hat": path["v_hat"],
                "score": path["score"],
                "chosen": path is best,
            }
        )
    return nodes
