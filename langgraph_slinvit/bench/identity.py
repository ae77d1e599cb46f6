"""The run identity: which SLINVIT settings a results database records for a run.

A benchmark run is keyed by the hash of its recorded configuration
(:func:`~langgraph_slinvit.bench.results.config_hash`), so a published command resumes its run
instead of starting a new one. The recorded settings are therefore the benchmark's own schema,
declared here, not whatever fields :class:`~langgraph_slinvit.config.SlinvitConfig` has today.

Schema version 1 (every run published so far):

* :data:`RECORDED`: always recorded, with the config's value, or with the value given here when
  the library no longer has the setting (its runs behaved as that value);
* :data:`ADDED_LATER`: recorded only away from the value that reproduces the runs made before
  the setting existed;
* :data:`NOT_RESULTS`: never recorded (they change where an episode is logged or how a request
  is retried, not its result).

A setting of the library that none of these names is refused, so a new setting is classified
here before it can silently change, or silently not change, a run's identity.
"""

from __future__ import annotations

from typing import Any

from langgraph_slinvit.config import SlinvitConfig

__all__ = [
    "ADDED_LATER",
    "NOT_RESULTS",
    "RECORDED",
    "SCHEMA_VERSION",
    "VOTE_RECORDED",
    "recorded_config",
    "vote_recorded_config",
]

SCHEMA_VERSION = 1

_ABSENT = object()

RECORDED: dict[str, Any] = {
    "k": _ABSENT,
    "depth": _ABSENT,
    "rollouts": _ABSENT,
    "horizon": _ABSENT,
    "rollout_horizon": _ABSENT,
    "lam": _ABSENT,
    "value": _ABSENT,
    "agreement_weight": _ABSENT,
    "agreement_basis": "samples",
    "p_llm": _ABSENT,
    "samples": _ABSENT,
    "expand_from": _ABSENT,
    "repeat_means_submit": _ABSENT,
    "temperature": _ABSENT,
    "max_llm_calls": _ABSENT,
    "max_tokens": _ABSENT,
    "max_seconds": _ABSENT,
    "max_rollouts": _ABSENT,
    "answer_from": _ABSENT,
    "stop_when": _ABSENT,
    "summarize_answer": _ABSENT,
    "seed": _ABSENT,
}
"""Settings every schema-1 run records. A value other than the placeholder is what a run
records when the library has dropped the setting (the behaviour its runs had)."""

ADDED_LATER: dict[str, Any] = {
    "repair_failed": False,
    "verifier_weight": 0.0,
    "resample_failed": 0,
    "rollout_workers": 1,  # batched requests on a server may not reproduce one-at-a-time ones
    "execute_path": False,
    "rollout_leaves": 0,
    "rollout_aggregate": "mean",
    "reply_tokens": 512,
    "rollout_legal_only": False,
    "untried_candidates": 0,
}
"""Settings added after runs were published, with the value that reproduces those runs: left
out of the recorded configuration at that value, so a published run keeps its hash (and its
command still resumes it), and recorded only when set otherwise."""

NOT_RESULTS = frozenset(
    {"approve_writes", "journal_path", "retries", "retry_backoff", "extra", "history_tokens"}
)
"""Settings that are never part of a run's identity."""


def recorded_config(config: SlinvitConfig) -> dict[str, Any]:
    """The flat settings a results database records for ``config`` (schema :data:`SCHEMA_VERSION`).

    Raises ValueError for a setting this schema does not classify, and for a recorded setting
    the config lacks and the schema gives no value for.
    """
    flat = config.to_dict()
    unknown = sorted(set(flat) - set(RECORDED) - set(ADDED_LATER) - NOT_RESULTS)
    if unknown:
        raise ValueError(
            f"run identity schema {SCHEMA_VERSION} does not classify the setting(s) "
            f"{', '.join(unknown)}: add them to RECORDED, ADDED_LATER or NOT_RESULTS in "
            "langgraph_slinvit/bench/identity.py"
        )
    recorded: dict[str, Any] = {}
    for name, fixed in RECORDED.items():
        if name in flat:
            recorded[name] = flat[name]
        elif fixed is _ABSENT:
            raise ValueError(
                f"run identity schema {SCHEMA_VERSION} records {name!r}, which the config lacks"
            )
        else:
            recorded[name] = fixed
    for name, published in ADDED_LATER.items():
        if name in flat and flat[name] != published:
            recorded[name] = flat[name]
    return recorded


VOTE_RECORDED: dict[str, str] = {
    "samples": "n",
    "temperature": "temperature",
    "horizon": "horizon",
    "stop_when": "stop_when",
    "repeat_means_submit": "repeat_means_submit",
    "seed": "seed",
}
"""The SLINVIT settings the ``vote`` baseline reads, and the names its runs record them under
(``n`` is :attr:`SlinvitConfig.n_samples`, the samples of one request, as SLINVIT's)."""


def vote_recorded_config(config: SlinvitConfig) -> dict[str, Any]:
    """What a ``vote`` run records of ``config``: n, temperature, horizon, the stop rule
    (``first_result``, else ``submit``: the other rules need a value), the repeat rule, the
    seed, the reply cap when not the default. The budgets and the prompt digest are added by
    the method."""
    recorded = {name: getattr(config, field) for field, name in VOTE_RECORDED.items()}
    recorded["n"] = config.n_samples
    recorded["stop_when"] = "first_result" if config.stop_when == "first_result" else "submit"
    if config.reply_tokens != ADDED_LATER["reply_tokens"]:
        recorded["reply_tokens"] = config.reply_tokens  # published votes keep their hashes
    return recorded
