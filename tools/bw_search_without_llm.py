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

    python tools/bw_search_without_llm.py --policy random --rollouts 0 4 --rollout-horizon 2
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
    parser.add_argument("--seed", type=int, default=0, help="the random policy's seed")
    args = parser.parse_args()
    suite = make_suite("blocksworld")
    tasks = select_tasks(suite.tasks(), indices=[int(i) for i in args.tasks.split(",")])
    if args.policy == "mute":
        factory, label = mute_model, MUTE
    else:
        factory, label = (lambda _t: random_model(args.seed)), f"{RANDOM}, seed {args.seed}"
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
            s = run_bench(
                suite, "slinvit", settings, factory, label, db, tasks, show_progress=False
            )
            rollouts = (
                f" M={m} rollout_horizon={args.rollout_horizon} "
                f"rollout_leaves={args.rollout_leaves} {args.rollout_aggregate}"
                if m
                else ""
            )
            print(
                f"{args.policy} k={k} depth={depth}{rollouts} horizon={args.horizon}: "
                f"{s['successes']}/{s['n']} "
                f"solved ({100 * s['success_rate']:.1f}%), {s['mean_env_steps']:.1f} "
                f"actions/task, {s.get('mean_llm_calls', 0):.1f} requests/task, "
                f"config {s['config_hash']}"
            )


if __name__ == "__main__":
    main()
