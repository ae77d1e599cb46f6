"""ALFWorld as a SLINVIT :class:`~langgraph_slinvit.envs.base.Environment`: the real TextWorld
engine (``textworld[pddl]`` with alfworld's demangler), one household game per environment.

* Observations are the game's own text; ``legal_actions()`` are the game's admissible commands
  (``help`` left out: it describes the commands, it changes nothing). Each observation carries
  the admissible commands of the state it reached in ``details["while_latest"]``: prompts show
  them for the newest step only, so a long episode's prompt does not repeat 50 lists.
* A command the game does not admit is still sent to the engine, which answers
  ``Nothing happens.`` (a failed action: ``ok=False``); every command counts as a step.
* The episode ends (``Observation.terminal``) when the game says it is won or after
  ``max_steps`` steps (50, the usual protocol). The win flag is the benchmark's reward: it is in
  ``details["won"]`` and never in :meth:`ALFWorldEnvironment.feedback_value`, which is 0 for
  ``Nothing happens.`` and 1 for any other action. Without a gold answer the value comes from
  the LLM critic of :meth:`ALFWorldEnvironment.critic_rubric` (how many of the task's sub-goals
  hold; the model splits the task itself, or is given the sub-goals with ``critic="listed"``),
  or from the rule :meth:`ALFWorldEnvironment.subgoal_progress` (the sub-goals that the game's
  replies show done: found, taken, cleaned/heated/cooled, placed; a lamp turned on).
* ``fork()`` replays the real action history in a fresh engine of the same game (exact: the
  engine is deterministic). A fresh engine translates the game's PDDL once per process (the
  translation is memoized while an engine starts), so a fork costs the grammar parse and the
  replayed steps. Every engine start and step holds one lock: the translator and the text
  grammar's parser keep global state, and the graph's branches run in parallel threads.

Needs the ``alfworld`` extra: ``pip install 'langgraph-slinvit[alfworld]'``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langgraph_slinvit.envs.base import ActionSyntax, CriticRubric, Observation
from langgraph_slinvit.paths import cache_root

if TYPE_CHECKING:
    from langgraph_slinvit.config import SlinvitConfig

__all__ = [
    "ALFWORLD_SYNTAX",
    "CRITIC_STYLES",
    "MAX_STEPS",
    "NEW_REPLY_WEIGHT",
    "TASK_TYPES",
    "ALFWorldEnvironment",
    "ALFWorldGame",
    "exploring_progress",
    "listed_rubric",
    "load_alfworld_games",
    "new_replies",
    "parse_subgoals",
    "subgoal_plan",
    "subgoal_progress",
]

MAX_STEPS = 50
"""Steps per episode in the usual ALFWorld protocol."""

CriticStyle = Literal["open", "listed"]
CRITIC_STYLES: tuple[str, ...] = ("open", "listed")
"""How the sub-goal critic is asked: it splits the task itself, or is given the sub-goals."""


def check_critic_style(critic: str) -> None:
    """Raise ValueError unless ``critic`` is one of :data:`CRITIC_STYLES`."""
    if critic not in CRITIC_STYLES:
        raise ValueError(f"critic must be one of {', '.join(CRITIC_STYLES)}, not {critic!r}")


TASK_TYPES: dict[str, str] = {
    "pick_and_place_simple": "pick",
    "look_at_obj_in_light": "look",
    "pick_clean_then_place_in_recep": "clean",
    "pick_heat_then_place_in_recep": "heat",
    "pick_cool_then_place_in_recep": "cool",
    "pick_two_obj_and_place": "pick two",
}
"""The six task types (folder prefix -> the short name the ALFWorld papers report by)."""

NOTHING_HAPPENS = "Nothing happens."
_WELCOME = re.compile(r"^\s*-= Welcome to TextWorld, ALFRED! =-\s*", re.IGNORECASE)
_TASK = re.compile(r"Your task is to:\s*(.+?)\s*$", re.IGNORECASE | re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*>]|\d+[.)])\s+")

ALFWORLD_SYNTAX = ActionSyntax(
    name="text",
    description="household task in a text game (copy one of the admissible actions exactly)",
    tags=frozenset({"text", ""}),
)
"""Commands of the game (``go to desk 1``, ``take mug 1 from desk 1``): plain sentences, fenced
or named in prose; a reply counts as the admissible command it names."""


@dataclass(frozen=True)
class ALFWorldGame:
    """One game file of the data: its id (``<task folder>/<trial>``), path and task type."""

    game_id: str
    path: Path
    task_type: str
    """One of the values of :data:`TASK_TYPES` (``pick``, ``look``, ``clean``...)."""

    def walkthrough(self) -> list[str]:
        """The expert command sequence stored with the game (a test fixture, never a prior)."""
        return list(json.loads(self.path.read_text())["walkthrough"])


def task_type_of(folder: str) -> str:
    """The short task type of a game folder name (``pick_clean_then_place_in_recep-...``)."""
    prefix = folder.split("-", 1)[0]
    if prefix not in TASK_TYPES:
        raise ValueError(f"unknown ALFWorld task folder {folder!r}")
    return TASK_TYPES[prefix]


def load_alfworld_games(archive: str | Path, *, cache: Path | None = None) -> list[ALFWorldGame]:
    """The games of ``archive`` (``valid_unseen.tar.gz``), sorted by id.

    The archive is read-only data: it is unpacked once into the cache
    (``<cache>/alfworld/<digest of the archive>``), never next to it.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"no ALFWorld games at {archive}")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    root = (cache or cache_root()) / "alfworld" / digest
    done = root / ".unpacked"
    if not done.exists():
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        done.touch()
    games = []
    for path in sorted(root.glob("*/*/*/game.tw-pddl")):
        folder, trial = path.parent.parent.name, path.parent.name
        games.append(ALFWorldGame(f"{folder}/{trial}", path, task_type_of(folder)))
    if not games:
        raise FileNotFoundError(f"{archive} holds no <task>/<trial>/game.tw-pddl files")
    return games


# -- the engine -----------------------------------------------------------------------------

_ENGINE_LOCK = threading.RLock()
"""Held for every engine start and step: the PDDL translator and the text grammar's parser
(tatsu) keep global state, and the graph's branches fork and step games in parallel threads."""
_TRANSLATIONS: dict[tuple[str, str, bool], Any] = {}


class _MemoTranslator:
    """``fast_downward`` with ``pddl2sas`` memoized per (domain, problem, optimize): the engine
    translates the same problem twice per start, and the translation dominates a start."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def pddl2sas(self, domain: str, problem: str, verbose: bool = False, optimize: bool = False):
        key = (domain, problem, optimize)
        if key not in _TRANSLATIONS:
            _TRANSLATIONS[key] = self._module.pddl2sas(
                domain, problem, verbose=verbose, optimize=optimize
            )
        return _TRANSLATIONS[key]


@contextlib.contextmanager
def _starting() -> Iterator[None]:
    """Hold the engine lock, with the engine's translator memoized."""
    from textworld.envs.pddl import logic

    with _ENGINE_LOCK:
        original = logic.fast_downward
        logic.fast_downward = _MemoTranslator(original)
        try:
            yield
        finally:
            logic.fast_downward = original


def _start_engine(path: Path) -> tuple[Any, Any]:
    """A fresh engine of the game at ``path`` and its first state."""
    try:
        import textworld
        from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
    except ImportError as err:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "ALFWorldEnvironment needs the alfworld extra: "
            "pip install 'langgraph-slinvit[alfworld]'"
        ) from err
    infos = textworld.EnvInfos(won=True, admissible_commands=True)
    with _starting():
        engine = textworld.start(
            str(path), request_infos=infos, wrappers=[AlfredDemangler(), AlfredInfos]
        )
        state = engine.reset()
    return engine, state


class EngineClock:
    """Adds up the seconds spent inside ``with clock.measure():`` blocks (thread-safe)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - started


# -- the critic -----------------------------------------------------------------------------


_SUBGOALS = re.compile(r"sub-?goals?\s*:\s*(\d+)\s*(?:of|/|out of)\s*(\d+)", re.IGNORECASE)


def parse_subgoals(text: str) -> float | None:
    """``Sub-goals: H of T`` (the last one in ``text``) as ``H / T`` in [0, 1]; None if absent."""
    found = _SUBGOALS.findall(text or "")
    if not found:
        return None
    held, total = (int(x) for x in found[-1])
    if total <= 0:
        return None
    return max(0.0, min(1.0, held / total))


SUBGOAL_QUESTION = """Split the task into its sub-goals, in order. For example, "put a clean mug \
in coffeemachine" has 4: find a mug, take the mug, clean the mug with the sinkbasin, put the mug \
in/on the coffeemachine. Count how many of them the results above show achieved (an action \
answered "Nothing happens." achieved nothing). Be brief, then finish with a line \
"Sub-goals: H of T" (H achieved of T in all)."""


_LOOK = re.compile(r"^(?:look at|examine)\s+(?:the\s+)?(\w+)\s+(?:under|with)\s+the\s+(\w+)")
_TWO = re.compile(r"^(?:put|find)\s+two\s+(\w+)\s+(?:and put them\s+)?(?:in|on|in/on)\s+(\w+)")
_ONE = re.compile(
    r"^(?:put|clean|heat|cool)\s+(?:a|an|some)\s+(?:clean\s+|hot\s+|cool\s+)?(\w+)\s+"
    r"(?:and put it\s+)?(?:in|on|in/on)\s+(\w+)"
)
_CHANGE = {
    "clean": "clean the {o} with a sinkbasin",
    "heat": "heat the {o} with a microwave",
    "cool": "cool the {o} with a fridge",
}


def subgoal_plan(task_type: str, task: str) -> list[str]:
    """The sub-goals of an ALFWorld task, in order, from its type and sentence (the templates
    every ALFWorld game of that type follows; nothing of the game's solution): ``put a clean
    mug in coffeemachine`` -> find the mug, take the mug, clean the mug with a sinkbasin, put
    the mug in/on the coffeemachine."""
    sentence = task.strip().lower()
    if task_type == "look":
        found = _LOOK.match(sentence)
        obj, lamp = found.groups() if found else ("object", "desklamp")
        return [f"find the {obj}", f"take the {obj}", f"find the {lamp}", f"use the {lamp}"]
    if task_type == "pick two":
        found = _TWO.match(sentence)
        obj, place = found.groups() if found else ("object", "target")
        one = [f"find a {obj}", f"take the {obj}", f"put the {obj} in/on the {place}"]
        two = [f"find a second {obj}", f"take the second {obj}", f"put it in/on the {place}"]
        return one + two
    if task_type not in ("pick", *_CHANGE):
        raise ValueError(f"unknown ALFWorld task type {task_type!r}")
    found = _ONE.match(sentence)
    obj, place = found.groups() if found else ("object", "target")
    change = [_CHANGE[task_type].format(o=obj)] if task_type in _CHANGE else []
    return [f"find the {obj}", f"take the {obj}", *change, f"put the {obj} in/on the {place}"]


LISTED_QUESTION = """The task has {total} sub-goals, in order:
{plan}
A sub-goal holds only when a result above shows it done (an action answered "Nothing happens." \
did nothing), and a later one counts only if the earlier ones hold. How many hold? Answer with \
one line "Sub-goals: H of {total}"."""


def listed_rubric(task_type: str, task: str) -> CriticRubric:
    """The sub-goal critic with the task's sub-goals listed (:func:`subgoal_plan`): the model
    only counts how many hold, out of a total it is given (its own reply's total is ignored)."""
    plan = subgoal_plan(task_type, task)
    listed = "\n".join(f"{i}. {goal}" for i, goal in enumerate(plan, 1))
    total = len(plan)

    def held_share(text: str) -> float | None:
        found = _SUBGOALS.findall(text or "")
        if not found:
            return None
        return max(0.0, min(1.0, int(found[-1][0]) / total))

    return CriticRubric(LISTED_QUESTION.format(total=total, plan=listed), held_share)


_PICK_UP = re.compile(r"^You pick up the (\w+ \d+) from")
_PLACE = re.compile(r"^You (?:move|put) the (\w+ \d+) (?:to|in|on|in/on) the (\w+) \d+")
_CHANGED = re.compile(r"^You (clean|heat|cool) the (\w+ \d+) using")
_LAMP = re.compile(r"^You turn (on|off) the (\w+) \d+")
_ARRIVE = re.compile(r"^You arrive at (\w+ \d+)")


def subgoal_progress(task_type: str, task: str, feedback: list[str]) -> float:
    """The share of the task's sub-goals (:func:`subgoal_plan`) that the game's own messages
    show done, in order: a rule-based value that reads only what the agent read (the task
    sentence and the replies to its actions), never the win flag or the game's goal.

    ``feedback`` is the game's text, the intro first, then one reply per action. An object is
    found once a reply names it (``mug 1``), taken while held (picked up, not yet placed),
    changed once cleaned, heated or cooled while held, and placed once moved into a receptacle
    of the task's kind (after its change, where the task asks one); a lamp task is done while
    the object is held where the lamp, turned on, is.
    """
    plan = subgoal_plan(task_type, task)
    target = plan[0].rsplit(" ", 1)[-1]
    lamp = plan[2].rsplit(" ", 1)[-1] if task_type == "look" else ""
    place = plan[-1].rsplit(" ", 1)[-1]
    want = {"clean": "clean", "heat": "heat", "cool": "cool"}.get(task_type)
    seen: set[str] = set()
    held: str | None = None
    changed: set[str] = set()
    placed: set[str] = set()
    lamp_seen = lamp_on = False
    here = lamp_at = None
    for text in feedback:
        first = text.strip().splitlines()[0] if text.strip() else ""
        seen.update(f"{target} {n}" for n in re.findall(rf"\b{target} (\d+)\b", text))
        if found := _ARRIVE.match(first):
            here = found.group(1)
        if lamp and re.search(rf"\b{lamp} \d+\b", text):
            lamp_seen = True
            lamp_at = here if found else lamp_at
        if found := _PICK_UP.match(first):
            held = found.group(1) if found.group(1).startswith(f"{target} ") else None
        elif found := _PLACE.match(first):
            thing, into = found.groups()
            if thing == held:
                held = None
                if into == place and (want is None or thing in changed):
                    placed.add(thing)
        elif (found := _CHANGED.match(first)) and found.group(2) == held:
            if found.group(1) == want:
                changed.add(held)
        elif (found := _LAMP.match(first)) and found.group(2) == lamp:
            lamp_on = found.group(1) == "on"
    if task_type == "look":  # the lamp may be turned on before the object is taken
        by_lamp = lamp_on and here is not None and here == lamp_at
        done = [bool(seen), held is not None, lamp_seen, by_lamp and held is not None]
    elif task_type == "pick two":
        loose = seen - placed
        done = [
            bool(seen),
            held is not None or len(placed) >= 1,
            len(placed) >= 1,
            len(placed) >= 2 or (len(placed) == 1 and bool(loose)),
            len(placed) >= 2 or (len(placed) == 1 and held is not None),
            len(placed) >= 2,
        ]
    else:
        done = [
            bool(seen) or bool(placed),
            held is not None or bool(placed),
            *([bool(changed) or bool(placed)] if want else []),
            bool(placed),
        ]
    held_in_order = 0
    for ok in done:
        if not ok:
            break
        held_in_order += 1
    return held_in_order / len(plan)


NEW_REPLY_WEIGHT = 0.1
"""The share of :func:`exploring_progress` that rewards new replies: below one sub-goal's share
of the rest (at least 0.9 / 6), so progress always ranks first."""


def new_replies(feedback: list[str], last: int = 2) -> float:
    """The share of the last ``last`` replies that tell something new: not ``Nothing happens.``
    and not the same text as an earlier reply (the intro included). Examining the same cabinet
    again, or going back to a place unchanged, tells nothing new."""
    replies = feedback[1:]
    recent = replies[-last:] if last > 0 else []
    if not recent:
        return 0.0
    read = {text.strip() for text in feedback[: len(feedback) - len(recent)]}
    fresh = 0
    for text in (t.strip() for t in recent):
        fresh += text != NOTHING_HAPPENS and text not in read
        read.add(text)
    return fresh / len(recent)


def exploring_progress(
    task_type: str, task: str, feedback: list[str], weight: float = NEW_REPLY_WEIGHT
) -> float:
    """:func:`subgoal_progress` with a tenth of the value for new replies
    (:func:`new_replies` of the last two, a sub-goal path's length): among paths that advance
    no sub-goal, one that finds something new ranks above one that repeats what the agent has
    already read, which a search for an object needs and the sub-goal count alone cannot see."""
    progress = subgoal_progress(task_type, task, feedback)
    return (1.0 - weight) * progress + weight * new_replies(feedback)


# -- the environment ------------------------------------------------------------------------


class ALFWorldEnvironment:
    """One ALFWorld game in the real TextWorld engine.

    Args:
        game: an :class:`ALFWorldGame` or the path of a ``game.tw-pddl`` file.
        max_steps: steps after which the episode ends (:data:`MAX_STEPS`).
        clock: where the seconds spent in the engine add up (shared with every fork; a new
            one by default), read as ``engine_seconds``.
        critic: the sub-goal critic's question: ``"open"`` (the model splits the task into
            sub-goals itself) or ``"listed"`` (it is given them: :func:`listed_rubric`).
    """

    language = "text"
    action_syntax = ALFWORLD_SYNTAX

    def __init__(
        self,
        game: ALFWorldGame | str | Path,
        *,
        max_steps: int = MAX_STEPS,
        clock: EngineClock | None = None,
        critic: CriticStyle = "open",
    ) -> None:
        if not isinstance(game, ALFWorldGame):
            path = Path(game)
            folder = path.parent.parent.name
            game = ALFWorldGame(f"{folder}/{path.parent.name}", path, task_type_of(folder))
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        check_critic_style(critic)
        self.critic = critic
        self.game = game
        self.max_steps = max_steps
        self.history: list[str] = []
        """Every command sent to the engine, in order (failed ones included)."""
        self.won = False
        self.clock = clock or EngineClock()
        with self.clock.measure():
            self._engine, state = _start_engine(game.path)
        self.intro = _WELCOME.sub("", state.feedback).strip()
        match = _TASK.search(self.intro)
        self.task = match.group(1).strip() if match else ""
        """The task sentence of the game (``put a clean mug in coffeemachine.``)."""
        self.last_feedback = self.intro
        self.feedback: list[str] = [self.intro]
        """The game's text so far: the intro, then its reply to every command."""
        self._state = state
        self._admissible = _admissible(state)

    # -- queries ------------------------------------------------------------------------------
    @property
    def engine_seconds(self) -> float:
        """Seconds spent in the engine by this game and all its forks (starts, steps)."""
        return self.clock.seconds

    @property
    def steps_taken(self) -> int:
        return len(self.history)

    @property
    def terminal(self) -> bool:
        """Won, or out of steps."""
        return self.won or self.steps_taken >= self.max_steps

    def legal_actions(self) -> list[str]:
        """The admissible commands of the current state (none once the episode is over)."""
        return [] if self.terminal else list(self._admissible)

    def admissible_text(self) -> str:
        """The admissible commands as the prompt shows them."""
        listed = "\n".join(f"- {a}" for a in self.legal_actions()) or "(none: the episode is over)"
        return f"Admissible actions now:\n{listed}"

    @classmethod
    def default_settings(cls) -> SlinvitConfig:
        """The ``alfworld`` preset (``langgraph_slinvit.presets``)."""
        from langgraph_slinvit.presets import preset

        return preset("alfworld")

    def describe(self) -> str:
        """The room, the task and the admissible commands at the start."""
        return (
            f"{self.intro}\n\nYou have at most {self.max_steps} actions. Reply with exactly one "
            f"action per step, copied from the admissible actions.\n\n{self.admissible_text()}"
        )

    def normalize(self, action: str) -> str:
        """The command as the engine reads it: one line, no bullet, fence or final period."""
        text = action.strip().strip("`").strip()
        text = _BULLET.sub("", text.splitlines()[0] if text else "").strip()
        text = re.sub(r"\s+", " ", text).rstrip(".").strip()
        lowered = text.lower()
        for choice in self._admissible:
            if choice.lower() == lowered:
                return choice
        return lowered

    def step(self, action: str) -> Observation:
        """Send one command to the engine (refused only once the episode is over)."""
        if self.terminal:
            why = "the game is won" if self.won else f"the {self.max_steps} steps are used"
            return Observation(
                output=f"The episode is over ({why}).",
                ok=False,
                refused=True,
                error="episode over",
                terminal=True,
                details=self._details(nothing=False),
            )
        command = self.normalize(action)
        with _ENGINE_LOCK, self.clock.measure():
            state, _score, _done = self._engine.step(command)
        self.history.append(command)
        self._state = state
        self.won = bool(state["won"])
        self._admissible = _admissible(state)
        feedback = state.feedback.strip()
        self.last_feedback = feedback
        self.feedback.append(feedback)
        nothing = feedback == NOTHING_HAPPENS
        output = feedback
        if self.won:
            output += "\nThe task is done."
        elif self.terminal:
            output += f"\nNo steps left (the {self.max_steps} steps are used)."
        return Observation(
            output=output,
            ok=not nothing,
            error="nothing happens" if nothing else None,
            signature=hashlib.sha256(feedback.encode()).hexdigest()[:16],
            terminal=self.terminal,
            details=self._details(nothing=nothing),
        )

    def _details(self, *, nothing: bool) -> dict[str, Any]:
        return {
            "won": self.won,
            "steps": self.steps_taken,
            "nothing_happens": nothing,
            "while_latest": self.admissible_text(),
        }

    def parallel_forks(self) -> bool:
        """No: engines start under one lock and the translator keeps global state."""
        return False

    def fork(self) -> ALFWorldEnvironment:
        """A fresh engine of the same game with the real history replayed into it."""
        clone = ALFWorldEnvironment(
            self.game, max_steps=self.max_steps, clock=self.clock, critic=self.critic
        )
        for command in self.history:
            clone.step(command)
        return clone

    def feedback_value(self, obs: Observation) -> float:
        """0 for a failed action (``Nothing happens.``, a refusal), else 1; never the win flag."""
        if not obs.ok or obs.timed_out or obs.refused:
            return 0.0
        return 1.0

    def critic_rubric(self) -> CriticRubric:
        """The sub-goal critic: the share of the task's sub-goals the trajectory achieved."""
        if self.critic == "listed":
            return listed_rubric(self.game.task_type, self.task)
        return CriticRubric(SUBGOAL_QUESTION, parse_subgoals)

    def subgoal_progress(self) -> float:
        """The rule-based value of this state: :func:`subgoal_progress` of the game's text."""
        return subgoal_progress(self.game.task_type, self.task, self.feedback)

    def exploring_progress(self) -> float:
        """:func:`exploring_progress` of the game's text: the sub-goals done, and a tenth for
        replies that tell something new."""
        return exploring_progress(self.game.task_type, self.task, self.feedback)

    def state_key(self) -> tuple[Any, ...]:
        """The engine's current facts and admissible commands (what a fork must reproduce)."""
        facts = sorted(str(f) for f in self._state.get("_facts") or [])
        return (tuple(facts), tuple(self._admissible), self.won, self.steps_taken)

    def close(self) -> None:
        """Close the engine."""
        with _ENGINE_LOCK, contextlib.suppress(Exception):
            self._engine.close()


def _admissible(state: Any) -> list[str]:
    return [c for c in state["admissible_commands"] if c != "help"]
