"""BlocksWorld ablation: SLINVIT's search with a model that never names an action.

The root's candidates are then the first k legal actions (P_LLM 0) and everything else is the
rule value's lookahead. Whatever the real model adds on top of this figure is the LLM's share
of a BlocksWorld result. No model runs; prints one line per setting:

    python tools/bw_search_without_llm.py --k 2 4 --depth 1 2 3
"""

from __future__ import annotations

import argparse

from langgraph_slinvit import SlinvitConfig, create_slinvit_agent
from langgraph_slinvit.benchmarks.blocksworld_env import (
    BlocksWorldEnvironment,
    rule_value_hook,
    success,
)
from langgraph_slinvit.benchmarks.data import load_blocksworld_tasks
from langgraph_slinvit.testing import ScriptedChatModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="task file (default 4: 57 tasks)")
    parser.add_argument("--k", type=int, nargs="+", default=[2])
    parser.add_argument("--depth", type=int, nargs="+", default=[2])
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--max-llm-calls", type=int, default=20)
    args = parser.parse_args()
    tasks = load_blocksworld_tasks(args.steps, basic_only=True)
    for depth in args.depth:
        for k in args.k:
            config = SlinvitConfig(
                k=k, depth=depth, rollouts=0, horizon=args.horizon, samples=4,
                p_llm="agreement", lam=0.02, expand_from="legal", summarize_answer=False,
                max_llm_calls=args.max_llm_calls,
            )  # fmt: skip
            solved = actions = 0
            for task in tasks:
                env = BlocksWorldEnvironment(task)
                mute = ScriptedChatModel(responder=lambda m, n: ["I am not sure."] * n, calls=[])
                agent = create_slinvit_agent(mute, env, config=config, value_fn=rule_value_hook)
                agent.invoke({"messages": [("user", "Reach the goal.")]})
                solved += success(env)
                actions += len(env.plan)
            print(
                f"k={k} depth={depth} horizon={args.horizon}: {solved}/{len(tasks)} solved "
                f"({100 * solved / len(tasks):.1f}%), {actions / len(tasks):.1f} actions/task"
            )


if __name__ == "__main__":
    main()
