"""``slinvit bench``: SLINVIT against baselines on InterCode-SQL, InterCode-Bash and BlocksWorld.

* :mod:`.core`: the shared data types (a task, a method's result, the settings of a run).
* :mod:`.suites`: one adapter per benchmark (tasks, environment, reward, oracle, difficulty).
* :mod:`.methods`: ``single``, ``react``, ``try-again``, ``lats`` and ``slinvit``, each given
  the same model, the same prompt context and the same budget of LLM calls per task.
* :mod:`.results`: the SQLite results database (resumable: finished tasks are never rerun).
* :mod:`.runner`: runs one method on a fixed sample of one suite.
* :mod:`.report`: markdown tables (Wilson intervals, oracle rows apart) and a PNG plot.
* :mod:`.cli`: the ``slinvit bench`` and ``slinvit bench report`` commands.
"""

from langgraph_slinvit.bench.core import BenchSettings, BenchTask, Evaluation, MethodResult

__all__ = ["BenchSettings", "BenchTask", "Evaluation", "MethodResult"]
