"""BlocksWorld (4-operator STRIPS domain) for the SLINVIT benchmark: PDDL parsing, a state
machine, a plan validator, BFS optimal plans, natural-language rendering and the rule-based value.

States are sets of ground atoms (``("on", "a", "b")``, ``("ontable", "c")``, ``("clear", "a")``,
``("handempty",)``, ``("holding", "a")``); actions are ground operators of
``generated_domain.pddl`` (``pick-up``, ``put-down``, ``stack``, ``unstack``). The operators are
built in (:data:`BLOCKSWORLD_DOMAIN`) and equal to those parsed from the PDDL file
(:func:`load_domain`), which the tests check.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import permutations
from pathlib import Path
from typing import Any

from langgraph_slinvit.bench.tasks import BlocksWorldTask, resolve_data_dir

__all__ = [
    "BLOCKSWORLD_DOMAIN",
    "Action",
    "Atom",
    "BWConfig",
    "BlocksProblem",
    "BlocksState",
    "IllegalActionError",
    "Operator",
    "apply",
    "is_legal",
    "legal_actions",
    "load_bw_config",
    "load_domain",
    "load_problem",
    "optimal_length",
    "parse_action",
    "parse_action_text",
    "parse_pddl_problem",
    "parse_plan",
    "problem_for_task",
    "render_action",
    "render_atoms",
    "render_goal",
    "render_plan",
    "render_state",
    "rule_value",
    "shortest_plan",
    "validate_plan",
]

Atom = tuple[str, ...]


class IllegalActionError(ValueError):
    """An action whose preconditions do not hold in the state (or that is malformed)."""


# --------------------------------------------------------------------------- s-expressions


def _sexpr(text: str) -> list[Any]:
    """Parse PDDL text into nested lists of lower-case symbols (``;`` comments removed)."""
    text = re.sub(r";[^\n]*", "", text).lower()
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    stack: list[list[Any]] = [[]]
    for tok in tokens:
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise ValueError("unbalanced ')' in PDDL")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise ValueError("unbalanced '(' in PDDL")
    return stack[0]


def _section(expr: list[Any], key: str) -> list[Any] | None:
    for item in expr:
        if isinstance(item, list) and item and item[0] == key:
            return item
    return None


def _atoms_of(formula: Any) -> list[Atom]:
    """Flatten ``(and (p x) (q y))`` / ``(p x)`` into atoms (only positive conjunctions)."""
    if not isinstance(formula, list) or not formula:
        raise ValueError(f"bad formula {formula!r}")
    if formula[0] == "and":
        return [a for sub in formula[1:] for a in _atoms_of(sub)]
    if formula[0] == "not":
        raise ValueError("negative literals are not supported here")
    if not all(isinstance(x, str) for x in formula):
        raise ValueError(f"bad atom {formula!r}")
    return [tuple(formula)]


# --------------------------------------------------------------------------- domain


@dataclass(frozen=True)
class Operator:
    """A STRIPS operator with parameter names like ``?ob``."""

    name: str
    params: tuple[str, ...]
    pre: tuple[Atom, ...]
    add: tuple[Atom, ...]
    delete: tuple[Atom, ...]

    def ground(self, args: Sequence[str]) -> tuple[set[Atom], set[Atom], set[Atom]]:
        """(preconditions, add list, delete list) for the given arguments."""
        if len(args) != len(self.params):
            raise IllegalActionError(f"{self.name} takes {len(self.params)} argument(s)")
        sub = dict(zip(self.params, args, strict=True))

        def g(atoms: tuple[Atom, ...]) -> set[Atom]:
            return {tuple(sub.get(t, t) for t in atom) for atom in atoms}

        return g(self.pre), g(self.add), g(self.delete)


def _operator(name: str, params: str, pre: str, add: str, delete: str) -> Operator:
    def atoms(s: str) -> tuple[Atom, ...]:
        return tuple(tuple(a.split()) for a in s.split(",") if a.strip())

    return Operator(name, tuple(params.split()), atoms(pre), atoms(add), atoms(delete))


BLOCKSWORLD_DOMAIN: dict[str, Operator] = {
    op.name: op
    for op in (
        _operator(
            "pick-up",
            "?ob",
            "clear ?ob, ontable ?ob, handempty",
            "holding ?ob",
            "clear ?ob, ontable ?ob, handempty",
        ),
        _operator(
            "put-down",
            "?ob",
            "holding ?ob",
            "clear ?ob, handempty, ontable ?ob",
            "holding ?ob",
        ),
        _operator(
            "stack",
            "?ob ?underob",
            "clear ?underob, holding ?ob",
            "handempty, clear ?ob, on ?ob ?underob",
            "clear ?underob, holding ?ob",
        ),
        _operator(
            "unstack",
            "?ob ?underob",
            "on ?ob ?underob, clear ?ob, handempty",
            "holding ?ob, clear ?underob",
            "on ?ob ?underob, clear ?ob, handempty",
        ),
    )
}
"""The 4 operators of ``generated_domain.pddl``."""


def load_domain(path: str | os.PathLike[str] | None = None) -> dict[str, Operator]:
    """Parse a STRIPS domain file (default: ``blocksworld/generated_domain.pddl``)."""
    p = (
        Path(path)
        if path is not None
        else resolve_data_dir() / "blocksworld" / "generated_domain.pddl"
    )
    tree = _sexpr(p.read_text(encoding="utf-8"))
    define = tree[0]
    ops: dict[str, Operator] = {}
    for item in define:
        if not (isinstance(item, list) and item and item[0] == ":action"):
            continue
        name = item[1]
        fields = {item[i]: item[i + 1] for i in range(2, len(item) - 1, 2)}
        params = tuple(x for x in fields.get(":parameters", []) if x.startswith("?"))
        pre = tuple(_atoms_of(fields[":precondition"]))
        add: list[Atom] = []
        delete: list[Atom] = []
        eff = fields[":effect"]
        for lit in eff[1:] if eff[0] == "and" else [eff]:
            if lit[0] == "not":
                delete.extend(_atoms_of(lit[1]))
            else:
                add.extend(_atoms_of(lit))
        ops[name] = Operator(name, params, pre, tuple(add), tuple(delete))
    return ops


# --------------------------------------------------------------------------- states, problems


@dataclass(frozen=True)
class Action:
    """A ground action, e.g. ``Action("unstack", ("d", "a"))``, printed as ``(unstack d a)``."""

    name: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "(" + " ".join((self.name, *self.args)) + ")"


@dataclass(frozen=True)
class BlocksState:
    """An immutable, hashable BlocksWorld state: the set of true ground atoms."""

    facts: frozenset[Atom]

    @classmethod
    def from_atoms(cls, atoms: Iterable[Atom]) -> BlocksState:
        """Build a state; raises ValueError if the atoms are not a consistent BlocksWorld state."""
        state = cls(frozenset(tuple(a) for a in atoms))
        state.check()
        return state

    @property
    def blocks(self) -> tuple[str, ...]:
        """All blocks, sorted."""
        return tuple(sorted({x for atom in self.facts for x in atom[1:]}))

    @property
    def holding(self) -> str | None:
        """The held block, if any."""
        return next((a[1] for a in self.facts if a[0] == "holding"), None)

    def below(self, block: str) -> str | None:
        """The block that ``block`` sits on (None on the table or in the hand)."""
        return next((a[2] for a in self.facts if a[0] == "on" and a[1] == block), None)

    def stacks(self) -> list[list[str]]:
        """Towers bottom-to-top, sorted by their bottom block."""
        above = {a[2]: a[1] for a in self.facts if a[0] == "on"}
        towers = []
        for bottom in sorted(a[1] for a in self.facts if a[0] == "ontable"):
            tower = [bottom]
            while tower[-1] in above:
                tower.append(above[tower[-1]])
            towers.append(tower)
        return towers

    def check(self) -> None:
        """Raise ValueError unless every block is in exactly one place and clear/handempty
        agree with the rest."""
        blocks = self.blocks
        held = [a[1] for a in self.facts if a[0] == "holding"]
        place: dict[str, int] = dict.fromkeys(blocks, 0)
        for a in self.facts:
            if a[0] in ("ontable", "holding"):
                place[a[1]] += 1
            elif a[0] == "on":
                place[a[1]] += 1
                if a[1] == a[2]:
                    raise ValueError(f"block {a[1]} on itself")
            elif a[0] not in ("clear", "handempty"):
                raise ValueError(f"unknown predicate {a[0]!r}")
        bad = [b for b, n in place.items() if n != 1]
        if bad:
            raise ValueError(f"blocks not in exactly one place: {bad}")
        if len(held) > 1:
            raise ValueError("holding more than one block")
        if (("handempty",) in self.facts) == bool(held):
            raise ValueError("handempty must hold exactly when no block is held")
        covered = {a[2] for a in self.facts if a[0] == "on"}
        for b in blocks:
            should_be_clear = b not in covered and b not in held
            if (("clear", b) in self.facts) != should_be_clear:
                raise ValueError(f"clear({b}) is inconsistent")
        above = [a[2] for a in self.facts if a[0] == "on"]
        if len(above) != len(set(above)):
            raise ValueError("two blocks on the same block")
        # no cycles: every tower reaches the table or the hand
        for b in blocks:
            seen, cur = set(), b
            while (nxt := self.below(cur)) is not None:
                if cur in seen:
                    raise ValueError("cyclic stacking")
                seen.add(cur)
                cur = nxt


@dataclass(frozen=True)
class BlocksProblem:
    """A BlocksWorld problem: objects, initial state and goal atoms."""

    name: str
    blocks: tuple[str, ...]
    init: BlocksState
    goal: frozenset[Atom]
    domain: Mapping[str, Operator] = field(
        default_factory=lambda: BLOCKSWORLD_DOMAIN, compare=False
    )

    def is_goal(self, state: BlocksState) -> bool:
        """True when every goal atom holds in ``state``."""
        return self.goal <= state.facts


def parse_pddl_problem(text: str) -> BlocksProblem:
    """Parse the text of a PDDL problem file (``:objects``, ``:init``, ``:goal``)."""
    tree = _sexpr(text)
    define = tree[0]
    name_part = _section(define, "problem")
    name = name_part[1] if name_part else ""
    objects = _section(define, ":objects") or [":objects"]
    blocks = tuple(x for x in objects[1:] if x != "-" and x != "object")
    init = _section(define, ":init")
    goal = _section(define, ":goal")
    if init is None or goal is None:
        raise ValueError("problem without :init or :goal")
    init_atoms = [a for sub in init[1:] for a in _atoms_of(sub)]
    goal_atoms = frozenset(a for sub in goal[1:] for a in _atoms_of(sub))
    state = BlocksState.from_atoms(init_atoms)
    if set(state.blocks) != set(blocks):
        raise ValueError("objects and init state mention different blocks")
    return BlocksProblem(name=name, blocks=blocks, init=state, goal=goal_atoms)


def load_problem(path: str | os.PathLike[str]) -> BlocksProblem:
    """Parse a PDDL problem file such as ``instances/instance-1.pddl``."""
    return parse_pddl_problem(Path(path).read_text(encoding="utf-8"))


def problem_for_task(task: BlocksWorldTask) -> BlocksProblem:
    """The PDDL problem of a :class:`~langgraph_slinvit.bench.tasks.BlocksWorldTask`."""
    return load_problem(task.instance_path)


# --------------------------------------------------------------------------- state machine


def _effects(
    state: BlocksState, action: Action, domain: Mapping[str, Operator]
) -> tuple[set[Atom], set[Atom], set[Atom]]:
    op = domain.get(action.name)
    if op is None:
        raise IllegalActionError(f"unknown action {action.name!r}")
    blocks = set(state.blocks)
    unknown = [a for a in action.args if a not in blocks]
    if unknown:
        raise IllegalActionError(f"{action}: unknown block(s) {unknown}")
    return op.ground(action.args)


def is_legal(
    state: BlocksState, action: Action, domain: Mapping[str, Operator] = BLOCKSWORLD_DOMAIN
) -> bool:
    """True if ``action`` is applicable in ``state``."""
    try:
        pre, _, _ = _effects(state, action, domain)
    except IllegalActionError:
        return False
    return pre <= state.facts


def apply(
    state: BlocksState, action: Action, domain: Mapping[str, Operator] = BLOCKSWORLD_DOMAIN
) -> BlocksState:
    """The successor state; raises :class:`IllegalActionError` naming the unmet preconditions."""
    pre, add, delete = _effects(state, action, domain)
    missing = pre - state.facts
    if missing:
        shown = ", ".join("(" + " ".join(a) + ")" for a in sorted(missing))
        raise IllegalActionError(f"{action}: precondition(s) not satisfied: {shown}")
    return BlocksState(frozenset((state.facts - delete) | add))


def _groundings(state: BlocksState, domain: Mapping[str, Operator]) -> Iterator[Action]:
    blocks = state.blocks
    for name in sorted(domain):
        op = domain[name]
        for args in permutations(blocks, len(op.params)):
            yield Action(name, args)


def legal_actions(
    state: BlocksState, domain: Mapping[str, Operator] = BLOCKSWORLD_DOMAIN
) -> list[Action]:
    """All applicable ground actions (distinct arguments), in a deterministic order."""
    return [a for a in _groundings(state, domain) if _pre_holds(state, a, domain)]


def _pre_holds(state: BlocksState, action: Action, domain: Mapping[str, Operator]) -> bool:
    """Precondition check without the block-name validation of :func:`is_legal`."""
    pre, _, _ = domain[action.name].ground(action.args)
    return pre <= state.facts


def validate_plan(problem: BlocksProblem, plan: Sequence[Action | str]) -> tuple[bool, str]:
    """Execute ``plan`` from the initial state: ``(True, "plan valid")`` if every step is legal
    and the goal holds at the end, else ``(False, reason)``. Steps may be :class:`Action` or
    strings accepted by :func:`parse_action`."""
    state = problem.init
    for i, step in enumerate(plan, start=1):
        try:
            action = parse_action(step) if isinstance(step, str) else step
            state = apply(state, action, problem.domain)
        except (IllegalActionError, ValueError) as err:
            return False, f"step {i}: {err}"
    missing = problem.goal - state.facts
    if missing:
        shown = ", ".join("(" + " ".join(a) + ")" for a in sorted(missing))
        return False, f"goal not reached after {len(plan)} step(s): unsatisfied {shown}"
    return True, "plan valid"


def shortest_plan(problem: BlocksProblem, max_depth: int | None = None) -> list[Action] | None:
    """A shortest plan by breadth-first search (None if none within ``max_depth``)."""
    start = problem.init
    if problem.is_goal(start):
        return []
    parent: dict[BlocksState, tuple[BlocksState, Action] | None] = {start: None}
    frontier = deque([(start, 0)])
    while frontier:
        state, depth = frontier.popleft()
        if max_depth is not None and depth >= max_depth:
            continue
        for action in legal_actions(state, problem.domain):
            nxt = apply(state, action, problem.domain)
            if nxt in parent:
                continue
            parent[nxt] = (state, action)
            if problem.is_goal(nxt):
                plan: list[Action] = []
                cur: BlocksState = nxt
                while (link := parent[cur]) is not None:
                    cur, act = link
                    plan.append(act)
                return plan[::-1]
            frontier.append((nxt, depth + 1))
    return None


def optimal_length(problem: BlocksProblem) -> int:
    """Length of a shortest plan (BFS); raises ValueError if the goal is unreachable."""
    plan = shortest_plan(problem)
    if plan is None:
        raise ValueError(f"goal of {problem.name} is unreachable")
    return len(plan)


# --------------------------------------------------------------------------- plans as text


def parse_action(text: str) -> Action:
    """Parse ``(unstack d a)`` or ``unstack d a`` into an :class:`Action`."""
    parts = text.strip().strip("()").lower().split()
    if not parts:
        raise ValueError(f"empty action {text!r}")
    return Action(parts[0], tuple(parts[1:]))


def parse_plan(text: str) -> list[Action]:
    """Parse a plan string as in step_N.json (one ``(op args)`` per line; ``;`` comments and
    blank lines ignored)."""
    actions = []
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        if line:
            actions.append(parse_action(line))
    return actions


# --------------------------------------------------------------------------- natural language


@dataclass(frozen=True)
class BWConfig:
    """Natural-language templates of ``bw_config.yaml``."""

    actions: Mapping[str, str]
    predicates: Mapping[str, str]
    encoded_objects: Mapping[str, str]
    domain_intro: str = ""

    def object_name(self, block: str) -> str:
        """``"a"`` -> ``"red block"`` (unknown names are returned unchanged)."""
        return self.encoded_objects.get(block, block)


_HOLDING_TEMPLATE = "the hand is holding the {}"  # bw_config.yaml has no "holding" template


@cache
def _cached_config(path: str) -> BWConfig:
    import yaml  # PyYAML, a dependency of langchain-core

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    predicates = dict(data["predicates"])
    predicates.setdefault("holding", _HOLDING_TEMPLATE)
    return BWConfig(
        actions=dict(data["actions"]),
        predicates=predicates,
        encoded_objects=dict(data["encoded_objects"]),
        domain_intro=data.get("domain_intro", ""),
    )


def load_bw_config(path: str | os.PathLike[str] | None = None) -> BWConfig:
    """Load ``blocksworld/bw_config.yaml`` (parsed with PyYAML, cached)."""
    p = Path(path) if path is not None else resolve_data_dir() / "blocksworld" / "bw_config.yaml"
    return _cached_config(str(p.resolve()))


def _join(phrases: list[str]) -> str:
    if not phrases:
        return ""
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + f" and {phrases[-1]}"


def render_atoms(atoms: Iterable[Atom], config: BWConfig | None = None) -> str:
    """Render atoms like llm-reasoners does: sorted by ``"pred arg1 arg2"``, joined with ", "
    and a final " and ", e.g. ``the red block is clear, the hand is empty and ...``."""
    cfg = config or load_bw_config()
    ordered = sorted(atoms, key=lambda a: a[0] + " " + " ".join(a[1:]))
    return _join(
        [cfg.predicates[a[0]].format(*(cfg.object_name(x) for x in a[1:])) for a in ordered]
    )


def render_state(state: BlocksState, config: BWConfig | None = None) -> str:
    """Natural-language description of a state."""
    return render_atoms(state.facts, config)


def render_goal(problem: BlocksProblem, config: BWConfig | None = None) -> str:
    """Natural-language description of the goal."""
    return render_atoms(problem.goal, config)


def render_action(action: Action, config: BWConfig | None = None) -> str:
    """``(unstack a b)`` -> ``unstack the red block from on top of the blue block``."""
    cfg = config or load_bw_config()
    return cfg.actions[action.name].format(*(cfg.object_name(x) for x in action.args))


def render_plan(plan: Iterable[Action], config: BWConfig | None = None) -> str:
    """One rendered action per line."""
    return "\n".join(render_action(a, config) for a in plan)


def parse_action_text(text: str, config: BWConfig | None = None) -> Action:
    """Inverse of :func:`render_action` (case-insensitive, surrounding punctuation ignored)."""
    cfg = config or load_bw_config()
    names = {v.lower(): k for k, v in cfg.encoded_objects.items()}
    obj = "(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + ")"
    clean = " ".join(text.lower().strip().strip(".!;:,").split())
    # longest templates first so "unstack ... from on top of ..." wins over shorter ones
    for op, template in sorted(cfg.actions.items(), key=lambda kv: -len(kv[1])):
        pattern = re.escape(template.lower()).replace(re.escape("{}"), obj)
        m = re.fullmatch(pattern, clean)
        if m:
            return Action(op, tuple(names[g] for g in m.groups()))
    raise ValueError(f"not a BlocksWorld action: {text!r}")


# --------------------------------------------------------------------------- rule-based value


def rule_value(state: BlocksState, goal: Iterable[Atom], *, goal_bonus: float = 10.0) -> float:
    """Rule-based value of SLINVIT's BlocksWorld runs (our reading of the paper's description).

    ``+1`` for every goal atom that holds; ``-1`` for every block ``x`` that sits on a *goal
    block* ``y`` (a block named in some goal atom) when ``on(x, y)`` is not itself a goal atom,
    i.e. a block that must be moved off a block the goal needs; ``+goal_bonus`` when all goal
    atoms hold. A held block sits on nothing and is not penalised.
    """
    goal_set = frozenset(goal)
    satisfied = sum(1 for a in goal_set if a in state.facts)
    goal_blocks = {x for a in goal_set for x in a[1:]}
    blocking = sum(
        1 for a in state.facts if a[0] == "on" and a[2] in goal_blocks and a not in goal_set
    )
    value = float(satisfied - blocking)
    if goal_set <= state.facts:
        value += goal_bonus
    return value
