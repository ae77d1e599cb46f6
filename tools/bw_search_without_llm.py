"""BlocksWorld ablation: SLINVIT's search with a model that never names an action.

The root's candidates are then the first k legal actions (P_LLM 0) and everything else is the
rule value's lookahead. Whatever the real model adds on top of this figure is the LLM's share
of a BlocksWorld result. No model runs (seconds on a laptop); prints one line per setting:

    python tools/bw_search_without_llm.py --k 2 3 4 --depth 2 --horizon 6

With ``--results DB`` each setting is also recorded through the benchmark runner as
``slinvit`` rows of the model ``mute (names no action)``, so ``slinvit bench report`` pairs it
with the real model's run task by task.

``--policy random`` replaces the mute model with one that names a legal action at random (the
last "Legal actions now:" list of its prompt; the draws depend only on the seed, the prompt and
how often that prompt was asked before, so a run repeats exactly although the candidates'
branches ask in parallel threads): a policy with no knowledge, so that
``--rollouts M`` (with ``--rollout-horizon``, ``--rollout-leaves``, ``--rollout-aggregate``)
measures what Monte-Carlo rollouts add to the rule value's lookahead before any model is asked:

    python tools/bw_search_without_llm.py --policy random --seed 0 1 2 --rollouts 0 4 \
        --rollout-horizon 2

With several seeds or settings it ends with a summary: the tasks solved with each seed, and
each setting paired with the first one task by task over every seed (wins, losses, sign test).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import random
import re
import threading
from collections import Counter

from langgraph_slinvit import SlinvitConfig
from langgraph_slinvit.bench.core import BenchSettings
from langgraph_slinvit.bench.results import ResultsDB
from langgraph_slinvit.bench.runner import run_bench, select_tasks
from langgraph_slinvit.bench.stats import sign_test_p
from langgraph_slinvit.bench.suites import make_suite
from langgraph_slinvit.testing import ScriptedChatModel

MUTE = "mute (names no action)"


def mute_model(_temperature: float) -> ScriptedChatModel:
    """A chat model whose every reply names no action."""
    return ScriptedChatModel(responder=lambda m, n: ["I am not sure."] * n, calls=[])


RANDOM = "random (a legal action at random)"
_LEGAL = re.compile(r"Legal actions now:\n((?:- .*\n?)+)")


def random_model(seed: int = 0) -> ScriptedChatModel:
    """A chat model whose every sample is a legal action of its prompt's state, at random.

    Each request draws from its own generator, seeded by ``seed``, the prompt and the number
    of times that prompt was asked before: the draws do not depend on the order in which
    parallel branches send their requests."""
    asked: Counter[str] = Counter()
    lock = threading.Lock()

    def responder(messages, n):
        prompt = str(messages[-1].content)
        with lock:
            asked[prompt] += 1
            visit = asked[prompt]
        digest = hashlib.sha256(f"{seed}\n{visit}\n{prompt}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        lists = _LEGAL.findall(prompt)
        legal = [line[2:].strip() for line in lists[-1].splitlines() if line] if lists else []
        if not legal:
            return ["I am not sure."] * n
        return [f"```text\n{rng.choice(legal)}\n```" for _ in range(n)]

    return ScriptedChatModel(responder=responder, calls=[])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, nargs="+", default=[2])
    parser.add_argument("--depth", type=int, nargs="+", default=[2])
    parser.add_argument("--horizon", type=int, default=6)
    parser.add_argument("--max-llm-calls", type=int, default=20)
    parser.add_argument(
        "--tasks",
        default=",".join(map(str, range(57))),
        help="task indices (default: the 57 four-step tasks)",
    )
    parser.add_argument("--results", default=":memory:", help="results database to record into")
    parser.add_argument("--policy", choices=["mute", "random"], default="mute")
    parser.add_argument("--rollouts", type=int, nargs="+", default=[0])
    parser.add_argument("--rollout-horizon", type=int, default=3)
    parser.add_argument("--rollout-leaves", type=int, default=0)
    parser.add_argument("--rollout-aggregate", choices=["mean", "max"], default="mean")
    parser.add_argument("--max-rollouts", type=int, default=200, help="rollouts per task")
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[0], help="the random policy's seeds"
    )
    args = parser.parse_args()
    suite = make_suite("blocksworld")
    tasks = select_tasks(suite.tasks(), indices=[int(i) for i in args.tasks.split(",")])
    seeds = args.seed if args.policy == "random" else [None]
    wanted = {t.task_id for t in tasks}
    outcomes: dict[str, dict[tuple[int | None, str], tuple[bool, float]]] = {}
    with ResultsDB(args.results) as db:
        for depth, k, m in itertools.product(args.depth, args.k, args.rollouts):
            config = SlinvitConfig(
                k=k,
                depth=depth,
                rollouts=m,
                rollout_horizon=args.rollout_horizon,
                rollout_leaves=args.rollout_leaves,
                rollout_aggregate=args.rollout_aggregate,
                horizon=args.horizon,
                samples=4,
                p_llm="agreement",
                lam=0.02,
                expand_from="legal",
                max_rollouts=args.max_rollouts,
            )
            settings = BenchSettings(max_llm_calls=args.max_llm_calls, slinvit=config)
            rollouts = (
                f" M={m} rollout_horizon={args.rollout_horizon} "
                f"rollout_leaves={args.rollout_leaves} {args.rollout_aggregate}"
                if m
                else ""
            )
            name = f"k={k} depth={depth}{rollouts or ' M=0'}"
            outcomes[name] = {}
            for seed in seeds:
                if seed is None:
                    factory, label = mute_model, MUTE
                else:
                    factory, label = _random_factory(seed), f"{RANDOM}, seed {seed}"
                s = run_bench(
                    suite, "slinvit", settings, factory, label, db, tasks, show_progress=False
                )
                for row in db.rows(model=label, chash=s["config_hash"], task_ids=wanted):
                    outcomes[name][(seed, row.task_id)] = (row.success, row.llm_calls)
                print(
                    f"{label} k={k} depth={depth}{rollouts} horizon={args.horizon}: "
                    f"{s['successes']}/{s['n']} "
                    f"solved ({100 * s['success_rate']:.1f}%), {s['mean_env_steps']:.1f} "
                    f"actions/task, {s.get('mean_llm_calls', 0):.1f} requests/task, "
                    f"config {s['config_hash']}"
                )
    if len(outcomes) * len(seeds) > 1:
        print_summary(outcomes, seeds, len(tasks))


def _random_factory(seed: int):
    return lambda _temperature: random_model(seed)


def print_summary(
    outcomes: dict[str, dict[tuple[int | None, str], tuple[bool, float]]],
    seeds: list[int | None],
    n_tasks: int,
) -> None:
    """Solved per seed, the mean, requests per task, and each setting against the first one."""
    first_name, first = next(iter(outcomes.items()))
    print(f"\nsummary over seeds {seeds}, {n_tasks} tasks each:")
    for name, results in outcomes.items():
        solved = [sum(ok for (s, _), (ok, _) in results.items() if s == seed) for seed in seeds]
        mean = sum(solved) / len(solved)
        calls = sum(c for _, c in results.values()) / max(1, len(results))
        line = (
            f"  {name}: solved {solved}, mean {mean:.1f} ({100 * mean / n_tasks:.1f}%), "
            f"{calls:.1f} requests/task"
        )
        if name != first_name:
            pairs = [(ok, first[key][0]) for key, (ok, _) in results.items() if key in first]
            wins = sum(1 for ok, base in pairs if ok and not base)
            losses = sum(1 for ok, base in pairs if base and not ok)
            line += (
                f"; against {first_name}: {wins} wins, {losses} losses "
                f"(sign test p={sign_test_p(wins, losses):.3g})"
            )
        print(line)


if __name__ == "__main__":
    main()
