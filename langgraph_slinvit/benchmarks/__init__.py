"""Benchmark building blocks (pure Python, no LLM).

* :mod:`.data`: locate the shared data (``$SLINVIT_DATA_DIR`` or ``<repo>/../shared/data``) and
  load InterCode-SQL, InterCode-Bash and BlocksWorld tasks.
* :mod:`.spider_sqlite`: the Spider MySQL dump as SQLite files, or loaded into MariaDB/MySQL.
* :mod:`.sql_reward` / :mod:`.bash_reward`: InterCode's rewards, reproduced exactly.
* :mod:`.blocksworld`: PDDL parsing, state machine, plan validation, BFS, rendering, rule value.
"""

from .bash_reward import (
    BashEpisodeResult,
    BashReward,
    FileChange,
    bash_reward,
    compute_bash_reward,
    diff_snapshots,
    snapshot_tree,
)
from .data import (
    BashTask,
    BlocksWorldTask,
    SqlTask,
    default_data_dir,
    load_bash_tasks,
    load_blocksworld_tasks,
    load_sql_tasks,
)
from .spider_sqlite import SpiderDatabaseUnavailable, build_spider_sqlite, load_spider_mariadb
from .sql_reward import SqlReward, compute_sql_reward, gold_has_order_by, sql_reward, sql_success

__all__ = [
    "BashEpisodeResult",
    "BashReward",
    "BashTask",
    "BlocksWorldTask",
    "FileChange",
    "SpiderDatabaseUnavailable",
    "SqlReward",
    "SqlTask",
    "bash_reward",
    "build_spider_sqlite",
    "compute_bash_reward",
    "compute_sql_reward",
    "default_data_dir",
    "diff_snapshots",
    "gold_has_order_by",
    "load_bash_tasks",
    "load_blocksworld_tasks",
    "load_spider_mariadb",
    "load_sql_tasks",
    "snapshot_tree",
    "sql_reward",
    "sql_success",
]
