"""The LLM policy: n samples for one prompt, with token log-probabilities where available.

One request with ``n`` samples when the model supports it (OpenAI-compatible endpoints through
``langchain-openai``, and any model with ``supports_n_samples = True``); otherwise ``n`` single
requests sent concurrently. Counting rule: every request sent counts as one LLM call, so one
request with ``n`` samples counts once and ``n`` single requests count ``n``; the budget is checked
for all of them before any is sent, and recorded with what was sent. Token usage is counted once
per request (``langchain-openai`` repeats the request's usage on every choice).

Every call carries the run's ``RunnableConfig`` (callbacks, tags, metadata, run name), so callbacks,
tracing and ``astream_events`` see it: the ``config`` passed, else the config of the graph node the
call runs in (not visible from threads the caller starts itself: pass ``config`` there). Search
calls (proposals, rollouts, critic) are tagged ``nostream`` so that LangGraph's
``stream_mode="messages"`` leaves them out; :meth:`Policy.answer` (the final answer) is not, and
streams its tokens there.

Transient endpoint errors (connection failures, timeouts, rate limits, 5xx answers) are retried
with backoff while the run's deadline allows, then raised as :class:`ModelEndpointError` naming
the endpoint. An OpenAI-compatible request never waits past the deadline: its timeout is cut to
the time left.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config

from langgraph_slinvit.budget import Budget, BudgetExhausted
from langgraph_slinvit.models import ResolvedModel, resolve_model

log = logging.getLogger(__name__)

REPLY_TOKENS = 512
"""Completion tokens per reply at most (every benchmark method gets the same cap)."""

ANSWER_TOKENS = 200
"""Completion tokens of the final answer at most."""

NOSTREAM = "nostream"
"""LangGraph's ``TAG_NOSTREAM``: ``stream_mode="messages"`` skips model calls with this tag."""

MAX_CONCURRENCY = 8
"""Single requests in flight at once for a model without ``n``."""

_TRANSIENT = (
    "APIConnectionError",
    "APITimeoutError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "ConnectError",
    "ConnectionError",
    "ReadTimeout",
    "TimeoutError",
)


class ModelEndpointError(RuntimeError):
    """The model endpoint failed (after retries for transient errors)."""


def is_transient(exc: BaseException) -> bool:
    """Whether a failed model request is worth retrying.

    langchain-core marks its provider errors with ``is_retryable`` (langchain-openai 1.x raises
    ``OpenAIAPIError`` for a 5xx answer); other clients are recognised by class names along the
    exception's MRO and by an HTTP ``status_code`` of 408, 429 or 5xx.
    """
    if getattr(exc, "is_retryable", False) is True:
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names.intersection(_TRANSIENT) or any("Timeout" in n or "Connect" in n for n in names):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status >= 500 or status in (408, 429))


@dataclass
class Sample:
    """One sampled completion."""

    text: str
    mean_logprob: float | None = None
    """Mean token log-probability of the completion, when the model returned log-probabilities."""
    first_top: dict[str, float] | None = None
    """The likeliest first tokens and their log-probabilities, when asked for (top_logprobs)."""

    @property
    def token_probability(self) -> float | None:
        """exp(mean token log-probability): the P_LLM of the ``logprob`` rule, in [0, 1]."""
        if self.mean_logprob is None or math.isnan(self.mean_logprob):
            return None
        return math.exp(min(self.mean_logprob, 0.0))


def endpoint_name(model: BaseChatModel) -> str:
    """A readable name of where the model lives (its base URL, or its class)."""
    for attr in ("openai_api_base", "base_url", "endpoint"):
        value = getattr(model, attr, None)
        if value:
            return str(value)
    client = getattr(model, "root_client", None)
    if client is not None and getattr(client, "base_url", None):
        return str(client.base_url)
    return type(model).__name__


def _is_openai(model: BaseChatModel) -> bool:
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        return False
    return isinstance(model, BaseChatOpenAI)


def supports_n(model: BaseChatModel) -> bool:
    if getattr(model, "supports_n_samples", False):
        return True
    return _is_openai(model)


def _request_timeout(model: BaseChatModel, deadline: float) -> float | None:
    """The seconds a request may take so that it ends by ``deadline`` (OpenAI-compatible clients,
    whose per-request ``timeout`` option this becomes); None to keep the client's own timeout."""
    left = deadline - time.time()
    if left == float("inf") or not _is_openai(model):
        return None
    own = getattr(model, "request_timeout", None)
    if own is None or (isinstance(own, (int, float)) and own > left):
        return max(left, 0.001)
    return None


class Policy:
    """Samples completions from a chat model under a budget.

    Args:
        model: what :func:`~langgraph_slinvit.models.resolve_model` accepts: a chat model, a
            ``"provider:model"`` string, a ``model.bind(...)`` binding, or a zero-argument
            callable returning one of these (resolved at the first call, so a graph can be built
            before a local server is started). Anything else raises ``TypeError`` here.
        temperature: default sampling temperature.
        want_logprobs: ask for token log-probabilities (dropped automatically if refused).
        retries: attempts after a transient endpoint error.
    """

    def __init__(
        self,
        model: Any,
        *,
        temperature: float = 0.8,
        want_logprobs: bool = True,
        retries: int = 3,
        backoff: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self._model: ResolvedModel | Callable[[], Any] = resolve_model(model)
        self.temperature = temperature
        self.want_logprobs = want_logprobs
        self.retries = retries
        self.backoff = backoff
        self.seed = seed
        self._warned_few_choices = False

    def _resolved(self) -> ResolvedModel:
        if not isinstance(self._model, ResolvedModel):
            resolved = resolve_model(self._model(), lazy=False)
            assert isinstance(resolved, ResolvedModel)
            self._model = resolved
        return self._model

    @property
    def model(self) -> BaseChatModel:
        """The chat model the requests go to (a binding's settings are merged into each call)."""
        return self._resolved().model

    def sample(
        self,
        messages: Sequence[BaseMessage],
        n: int,
        budget: Budget,
        *,
        temperature: float | None = None,
        max_tokens: int | None = REPLY_TOKENS,
        config: RunnableConfig | None = None,
    ) -> list[Sample]:
        """``n`` completions of ``messages``: one request if the model supports ``n`` (one LLM
        call), else ``n`` concurrent single requests (``n`` LLM calls). Tagged ``nostream``."""
        temp = self.temperature if temperature is None else temperature
        model = self.model
        if n <= 1 or supports_n(model):
            return self._request(messages, n, temp, budget, max_tokens, config=config)
        config = _current(config)  # the pool's threads do not see the caller's context
        with budget.holding_calls(n), ThreadPoolExecutor(min(n, MAX_CONCURRENCY)) as pool:
            futures = [
                pool.submit(
                    self._request,
                    messages,
                    1,
                    temp,
                    budget,
                    max_tokens,
                    None,
                    config=config,
                    checked=True,
                )
                for _ in range(n)
            ]
            results = [f.result() for f in futures]
        return [s for r in results for s in r]

    def answer(
        self,
        messages: Sequence[BaseMessage],
        budget: Budget,
        *,
        config: RunnableConfig | None = None,
        max_tokens: int | None = ANSWER_TOKENS,
    ) -> str:
        """The final answer to the user: one greedy request whose tokens stream to LangGraph's
        ``stream_mode="messages"`` (no ``nostream`` tag). One LLM call."""
        samples = self._request(messages, 1, 0.0, budget, max_tokens, config=config, stream=True)
        return samples[0].text if samples else ""

    def _request(
        self,
        messages: Sequence[BaseMessage],
        n: int,
        temperature: float,
        budget: Budget,
        max_tokens: int | None,
        extra: dict[str, Any] | None = None,
        *,
        config: RunnableConfig | None = None,
        stream: bool = False,
        checked: bool = False,
    ) -> list[Sample]:
        """One request; unless ``checked`` (the caller holds the call), the call is held in
        ``budget`` while it runs."""
        if checked:
            return self._send(messages, n, temperature, budget, max_tokens, extra, config, stream)
        with budget.holding_calls():
            return self._send(messages, n, temperature, budget, max_tokens, extra, config, stream)

    def _send(
        self,
        messages: Sequence[BaseMessage],
        n: int,
        temperature: float,
        budget: Budget,
        max_tokens: int | None,
        extra: dict[str, Any] | None,
        config: RunnableConfig | None,
        stream: bool,
    ) -> list[Sample]:
        resolved = self._resolved()
        model = resolved.model
        kwargs: dict[str, Any] = {
            **resolved.kwargs,
            "temperature": temperature,
            **(extra or {}),
        }
        if n > 1:
            kwargs["n"] = n
        if max_tokens:
            kwargs["max_tokens"] = max_tokens
        if self.seed is not None and supports_n(model):
            kwargs["seed"] = self.seed
        if self.want_logprobs and supports_n(model) and not stream:
            kwargs["logprobs"] = True
        if not stream:
            kwargs["stream"] = False  # n choices and log-probabilities need one whole reply
        run = _run_options(config, stream)
        attempt = 0
        while True:
            timeout = _request_timeout(model, budget.deadline)
            if timeout is not None:
                kwargs["timeout"] = timeout
            try:
                result = model.generate([list(messages)], **run, **kwargs)
                break
            except Exception as exc:
                name = type(exc).__name__
                text = str(exc)
                if kwargs.get("logprobs") and "logprob" in text.lower():
                    kwargs.pop("logprobs")  # the endpoint refuses them: ask without
                    kwargs.pop("top_logprobs", None)
                    self.want_logprobs = False
                    continue
                cut = "timeout" in kwargs and time.time() >= budget.deadline - 0.05
                if attempt == 0 and cut and is_transient(exc):
                    # a first try cut at the run's own deadline (not an endpoint that keeps
                    # failing): the time budget ran out, and the run stops as on any budget
                    raise BudgetExhausted("max_seconds") from exc
                attempt += 1
                transient = is_transient(exc)
                delay = min(self.backoff * 2 ** (attempt - 1), 30.0)
                late = time.time() + delay >= budget.deadline
                if not transient or attempt > self.retries or late:
                    where = endpoint_name(model)
                    raise ModelEndpointError(
                        f"model endpoint {where} failed"
                        + (f" after {attempt} attempts" if transient else "")
                        + f": {name}: {text.splitlines()[0] if text else ''}"
                    ) from exc
                log.warning("model call failed (%s), retry %d in %.1fs", name, attempt, delay)
                time.sleep(delay)
        generations = _generations(result)
        if n > 1 and len(generations) < n and not self._warned_few_choices:
            self._warned_few_choices = True
            log.warning(
                "model endpoint %s returned %d choices when asked for n=%d; set "
                "supports_n_samples=False on the model to send n single requests instead",
                endpoint_name(model),
                len(generations),
                n,
            )
        prompt_tokens, completion_tokens = _usage(result.llm_output, generations)
        budget.record(llm_calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        return [
            Sample(text=_text(g.message), mean_logprob=_mean_logprob(g), first_top=_first_top(g))
            for g in generations
        ]


def _generations(result: LLMResult) -> list[ChatGeneration]:
    return [g for g in result.generations[0] if isinstance(g, ChatGeneration)]


def _current(config: RunnableConfig | None) -> RunnableConfig | None:
    """``config``, else the config of the runnable (graph node) this call runs inside, if any."""
    return config if config is not None else var_child_runnable_config.get()


def _run_options(config: RunnableConfig | None, stream: bool) -> dict[str, Any]:
    """``generate``'s callbacks, tags, metadata and run name from the run's config; a search call
    gets the ``nostream`` tag."""
    config = _current(config) or {}
    tags = list(config.get("tags") or [])
    if not stream and NOSTREAM not in tags:
        tags.append(NOSTREAM)
    options: dict[str, Any] = {"callbacks": config.get("callbacks"), "tags": tags}
    if config.get("metadata"):
        options["metadata"] = dict(config["metadata"])
    if config.get("run_name"):
        options["run_name"] = config["run_name"]
    return options


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(message: BaseMessage) -> str:
    """A reply's text, as valid Unicode: JSON can carry lone surrogates (``"\\ud800"``), which
    no database driver, checkpointer or journal can encode; they become U+FFFD."""
    content = message.content
    if not isinstance(content, str):
        content = "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return _SURROGATE.sub("\ufffd", content)


def _usage(llm_output: dict | None, generations: list[ChatGeneration]) -> tuple[int, int]:
    """Prompt and completion tokens of one request (counted once, not per choice).

    llama-server reports only one choice's completion tokens for ``n > 1``; when every choice
    carries per-token log-probabilities, their count is used if it is larger.
    """
    prompt = completion = 0
    usage = (llm_output or {}).get("token_usage") or {}
    if usage:
        prompt, completion = (
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
        )
    elif generations and isinstance(generations[0].message, AIMessage):
        meta = generations[0].message.usage_metadata
        if meta:
            prompt, completion = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    counted = [_logprob_tokens(g) for g in generations]
    if counted and all(c is not None for c in counted):
        completion = max(completion, sum(c for c in counted if c is not None))
    return prompt, completion


def _logprob_content(generation: ChatGeneration) -> list | None:
    """The per-token log-probabilities of a reply, when the endpoint returned them."""
    info = generation.generation_info or {}
    logprobs = info.get("logprobs") or generation.message.response_metadata.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return content if isinstance(content, list) else None


def _logprob_tokens(generation: ChatGeneration) -> int | None:
    content = _logprob_content(generation)
    return len(content) if content is not None else None


def _first_top(generation: ChatGeneration) -> dict[str, float] | None:
    content = _logprob_content(generation)
    top = content[0].get("top_logprobs") if content and isinstance(content[0], dict) else None
    if not isinstance(top, list):
        return None
    return {
        str(t["token"]): min(float(t["logprob"]), 0.0)
        for t in top
        if isinstance(t, dict)
        and "token" in t
        and isinstance(t.get("logprob"), (int, float))
        and not isinstance(t.get("logprob"), bool)
        and math.isfinite(t["logprob"])
    }


def _mean_logprob(generation: ChatGeneration) -> float | None:
    content = _logprob_content(generation)
    if content is None:
        return None
    # an endpoint may send anything here: keep finite numbers, and no probability above 1
    values = [
        min(float(t["logprob"]), 0.0)
        for t in content
        if isinstance(t, dict)
        and isinstance(t.get("logprob"), (int, float))
        and not isinstance(t.get("logprob"), bool)
        and math.isfinite(t["logprob"])
    ]
    return sum(values) / len(values) if values else None
