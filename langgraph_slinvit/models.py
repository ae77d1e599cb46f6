"""Which chat model to use: an OpenAI-compatible endpoint if one is named, else the local model."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBinding


def chat_model(
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.8,
    **kwargs: Any,
) -> BaseChatModel:
    """A chat model for SLINVIT.

    With ``base_url`` or ``api_key`` (or ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` in the
    environment) this is ``ChatOpenAI`` against that endpoint (OpenAI, vLLM, Ollama, llama.cpp...).
    Without them it is the embedded local model (Qwen2.5-Coder-1.5B-Instruct on a llama-server
    this process starts and stops), fetched and built on first use.
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if base_url or api_key:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=base_url,
            api_key=api_key or "sk-none",
            model=model or os.environ.get("SLINVIT_MODEL") or "gpt-4o-mini",
            temperature=temperature,
            max_retries=kwargs.pop("max_retries", 1),
            timeout=kwargs.pop("timeout", 300.0),
            **kwargs,
        )
    from langgraph_slinvit.local import local_chat_model

    return local_chat_model(temperature=temperature, **kwargs)


def default_chat_model() -> BaseChatModel:
    """Zero-argument factory of :func:`chat_model`, for graphs built before a model is needed."""
    return chat_model()


@dataclass(frozen=True)
class ResolvedModel:
    """A chat model and the call settings a ``model.bind(...)`` binding adds to every call."""

    model: BaseChatModel
    kwargs: dict[str, Any] = field(default_factory=dict)


ACCEPTED = (
    "a LangChain chat model (BaseChatModel), a 'provider:model' string as init_chat_model takes "
    "it, model.bind(...) of a chat model, or a zero-argument callable returning one of these"
)


def resolve_model(model: Any, *, lazy: bool = True) -> ResolvedModel | Callable[[], Any]:
    """What SLINVIT sends its requests to.

    A chat model is used as it is; a ``"provider:model"`` string goes through
    ``langchain.chat_models.init_chat_model`` (as ``create_agent`` does); a ``model.bind(...)``
    binding is unwrapped to its chat model, its settings merged into every call (so ``n``
    samples, log-probabilities and per-call temperatures still work). A zero-argument callable is
    kept (with ``lazy``) and resolved, with the same checks, at the first request. Anything else,
    such as ``with_fallbacks(...)`` or a configurable model, whose ``n`` samples and
    log-probabilities SLINVIT cannot request, raises ``TypeError`` naming the type.
    """
    if isinstance(model, BaseChatModel):
        return ResolvedModel(model)
    if isinstance(model, str):
        from langchain.chat_models import init_chat_model

        return resolve_model(init_chat_model(model), lazy=False)
    if isinstance(model, RunnableBinding):
        inner = resolve_model(model.bound, lazy=False)
        assert isinstance(inner, ResolvedModel)
        if model.config:
            raise TypeError(
                "SLINVIT cannot use a chat model bound with a config (with_config); pass the "
                f"model and give the config to the run instead. Accepted: {ACCEPTED}."
            )
        return ResolvedModel(inner.model, {**inner.kwargs, **model.kwargs})
    if lazy and callable(model) and not isinstance(model, Runnable):
        return model
    raise TypeError(
        f"SLINVIT cannot use a model of type {type(model).__module__}.{type(model).__qualname__}"
        f": it needs n samples, log-probabilities and per-call temperatures. Accepted: {ACCEPTED}."
    )
