"""Which chat model to use: an OpenAI-compatible endpoint if one is named, else the local model."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.language_models import BaseChatModel


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
