"""A LangChain chat model backed by the embedded local llama-server, and a parser for the
tool calls that small models write as fenced JSON text."""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.language_models import BaseLanguageModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.tool import tool_call
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI

from .server import DEFAULT_MODEL_ALIAS, get_local_server

__all__ = ["LocalChatOpenAI", "local_chat_model", "parse_fenced_json_tool_calls"]

_SERVER_KEYS = ("ctx_size", "parallel")


class LocalChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` for the local llama-server.

    Token counting (``get_num_tokens``, ``get_token_ids``) uses the server's ``/tokenize``
    (the model's own tokenizer, offline) instead of tiktoken, which would download an
    OpenAI encoding. Everything else is plain ``ChatOpenAI``: ``n`` choices come back as
    separate ``ChatGeneration``s, each with its own ``response_metadata["logprobs"]``.
    """

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        return _with_fenced_tool_calls(result, kwargs.get("tools"))

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        result = await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        return _with_fenced_tool_calls(result, kwargs.get("tools"))

    def _server_root(self) -> str:
        base = (self.openai_api_base or "").rstrip("/")
        return base.removesuffix("/v1")

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` from the server's ``/tokenize`` endpoint."""
        req = urllib.request.Request(
            f"{self._server_root()}/tokenize",
            data=json.dumps({"content": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            return list(json.loads(resp.read())["tokens"])

    def get_num_tokens_from_messages(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[Any] | None = None,
        *,
        allow_fetching_images: bool = True,
    ) -> int:
        """Approximate prompt size: LangChain's generic count with the model's tokenizer
        (``tools`` and images are not counted)."""
        return BaseLanguageModel.get_num_tokens_from_messages(self, list(messages), tools)


def local_chat_model(
    *,
    temperature: float = 0.0,
    model_path: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    **kw: Any,
) -> ChatOpenAI:
    """A ``ChatOpenAI`` talking to this process's local llama-server (started on demand).

    The default model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) and the server binary are
    fetched/built and cached on first use. ``ctx_size``, ``parallel`` and ``server_seed``
    in ``kw`` configure the server; everything else goes to ``ChatOpenAI`` (``n``,
    ``logprobs``, ``max_tokens``, ``seed``, ``timeout``, ...).
    """
    server_kw: dict[str, Any] = {k: kw.pop(k) for k in _SERVER_KEYS if k in kw}
    if "server_seed" in kw:
        server_kw["seed"] = kw.pop("server_seed")
    server = get_local_server(model_path, threads=threads, **server_kw)
    kw.setdefault("timeout", 600.0)
    kw.setdefault("max_retries", 1)
    kw.setdefault("model", DEFAULT_MODEL_ALIAS)
    return LocalChatOpenAI(
        base_url=server.base_url,
        api_key="sk-local",
        temperature=temperature,
        **kw,
    )


# -- fenced-JSON tool calls ------------------------------------------------------------

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_TAG_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.S)
_NAME_KEYS = ("name", "tool", "tool_name")
_ARG_KEYS = ("arguments", "args", "parameters", "input", "tool_input")
_ALLOWED_KEYS = {*_NAME_KEYS, *_ARG_KEYS, "id", "type"}
_MAX_SCAN_FAILURES = 64
_JSON_LANGS = {"", "json", "json5", "jsonc", "tool_call", "tool", "javascript", "js"}


def _json_values(body: str) -> list[Any]:
    """Every JSON value in ``body``: the whole body if it parses, else each decodable
    object found by scanning for ``{`` (a bounded number of tries, so long garbage stays
    cheap)."""
    body = body.strip()
    if not body:
        return []
    try:
        return [json.loads(body)]
    except (ValueError, RecursionError):
        pass
    decoder = json.JSONDecoder()
    values: list[Any] = []
    i = 0
    failures = 0
    while failures < _MAX_SCAN_FAILURES:
        start = body.find("{", i)
        if start < 0:
            break
        try:
            value, end = decoder.raw_decode(body, start)
        except (ValueError, RecursionError):
            failures += 1
            i = start + 1
            continue
        values.append(value)
        i = end
    return values


def _as_call(obj: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(obj, dict):
        return None
    fn = obj.get("function")
    if isinstance(fn, dict) and obj.get("type", "function") == "function":
        return _as_call(fn)  # OpenAI style: {"type": "function", "function": {...}}
    if not set(obj) <= _ALLOWED_KEYS:
        return None  # a JSON payload that merely has a "name" field, not a tool call
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if not name or not name.strip():
        return None
    args: Any = next((obj[k] for k in _ARG_KEYS if k in obj), {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except (ValueError, RecursionError):
            return None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return None
    return name.strip(), args


def _collect(value: Any, out: list[tuple[str, dict[str, Any]]]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, out)
        return
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        _collect(value["tool_calls"], out)
        return
    call = _as_call(value)
    if call is not None:
        out.append(call)


def _call_id(index: int, name: str, args: dict[str, Any]) -> str:
    blob = json.dumps([index, name, args], sort_keys=True, default=str)
    return "call_" + hashlib.sha256(blob.encode()).hexdigest()[:24]


def _with_fenced_tool_calls(result: ChatResult, tools: Any) -> ChatResult:
    """Turn tool calls the model wrote as fenced JSON into real ``tool_calls``.

    Only when tools were bound to the request, only for their names, and only when the
    server returned no ``tool_calls`` of its own.
    """
    if not tools:
        return result
    names = {
        (t.get("function") or {}).get("name") or t.get("name") for t in tools if isinstance(t, dict)
    }
    for gen in result.generations:
        message = gen.message
        if not isinstance(message, AIMessage) or message.tool_calls:
            continue
        calls = parse_fenced_json_tool_calls(str(message.content), tool_names=names)
        if calls:
            gen.message = AIMessage(
                content="",
                tool_calls=[tool_call(name=c["name"], args=c["args"], id=c["id"]) for c in calls],
                response_metadata=message.response_metadata,
                usage_metadata=message.usage_metadata,
                id=message.id,
            )
    return result


def parse_fenced_json_tool_calls(
    text: str, tool_names: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Parse tool calls written as JSON inside ```json fences (or ``<tool_call>`` tags).

    Accepts ``{"name": ..., "arguments": {...}}`` (also ``args``/``parameters``, arguments
    as a JSON string, a list of calls, ``{"tool_calls": [...]}`` and OpenAI's
    ``{"type": "function", "function": {...}}``). Returns LangChain-style
    ``{"name", "args", "id"}`` dicts in order; ids are deterministic (``call_<hash>``).
    With ``tool_names``, calls to other names are dropped. Never raises: returns ``[]``
    for anything it cannot read.
    """
    try:
        if not isinstance(text, str) or not text:
            return []
        allowed = set(tool_names) if tool_names is not None else None
        bodies = [m.group(2) for m in _FENCE_RE.finditer(text) if m.group(1).lower() in _JSON_LANGS]
        outside = _FENCE_RE.sub(" ", text)
        bodies += [m.group(1) for m in _TAG_RE.finditer(outside)]
        found: list[tuple[str, dict[str, Any]]] = []
        for body in bodies:
            for value in _json_values(body):
                _collect(value, found)
        calls: list[dict[str, Any]] = []
        for name, args in found:
            if allowed is not None and name not in allowed:
                continue
            calls.append({"name": name, "args": args, "id": _call_id(len(calls), name, args)})
        return calls
    except Exception:
        return []
