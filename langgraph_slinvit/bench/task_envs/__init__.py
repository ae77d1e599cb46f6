"""The environments benchmark tasks run in (pure Python, no LLM).

* :mod:`.spider_sqlite`: the Spider MySQL dump as SQLite files, or loaded into MariaDB/MySQL.
* :mod:`.bash`: an InterCode-Bash task's file system in a sandbox, with its reward.
* :mod:`.blocksworld_pddl`: PDDL parsing, state machine, plan validation, BFS, rendering.
* :mod:`.blocksworld`: a BlocksWorld problem as an environment, with the rule value.
"""
