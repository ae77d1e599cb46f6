"""BlocksWorld ablation: SLINVIT's search with a model that never names an action.

The root's candidates are then the first k legal actions (P_LLM 0) and everything else is the
rule value's lookahead. Whatever the real model adds on top of this figure is the LLM's share
of a BlocksWorld result. No model runs (seconds on a laptop); prints one line per setting:

    python tools/bw_search_without_llm.py --k 2 3 4 --depth 2 --horizon 6

With ``--results DB`` each setting is also recorded through the benchmark runner as
``slinvit`` rows of the model ``mute (names no action)``, so ``slinvit bench report`` pairs it
with the real model's run task by task.
"""

from __future__ import annotations

import argparse

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
    args = parser.parse_args()
    suite = make_suite("blocksworld")
    tasks = select_tasks(suite.tasks(), indices=[int(i) for i in args.tasks.split(",")])
    with ResultsDB(args.results) as db:
        for depth in args.depth:
            for k in args.k:
                config = SlinvitConfig(
                    k=k,
                    depth=depth,
                    rollouts=0,
                    horizon=args.horizon,
                    samples=4,
                    p_llm="agreement",
                    lam=0.02,
                    expand_from="legal",
                )
                settings = BenchSettings(max_llm_calls=args.max_llm_calls, slinvit=config)
                s = run_bench(
                    suite, "slinvit", settings, mute_model, MUTE, db, tasks, show_progress=False
                )
                print(
                    f"k={k} depth={depth} horizon={args.horizon}: {s['successes']}/{s['n']} "
                    f"solved ({100 * s['success_rate']:.1f}%), {s['mean_env_steps']:.1f} "
                    f"actions/task, config {s['config_hash']}"
                )


if __name__ == "__main__":
    main()
