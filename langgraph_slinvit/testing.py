"""A scripted chat model for tests and overhead benchmarks (no network, deterministic).

LangChain's fake chat models lack ``bind_tools`` and drop tool calls when streaming; this one
answers ``generate`` with ``n`` choices, which is all SLINVIT's search asks of a model, and streams
a single reply word by word (for ``stream_mode="messages"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable

Responder = Callable[[Sequence[BaseMessage], int], Sequence[str]]


class ScriptedChatModel(BaseChatModel):
    """Answers with a function of the prompt, or with a fixed script consumed in order.

    ``responder(messages, n)`` returns ``n`` replies. With ``script`` instead, each request takes
    the next entry: a reply (repeated n times) or a list of n replies. A reply is a string or an
    ``AIMessage`` (e.g. with ``tool_calls``, to drive ``create_agent``). ``calls`` records every
    request's messages and ``n``. ``logprob`` (if set) is reported as every token's
    log-probability, per choice when it is a list. ``top_logprobs(messages)`` (if set) gives
    ``{token: logprob}``, reported as the first token's alternatives when a request asks for
    ``top_logprobs``.
    """

    responder: Any = None
    script: list[Any] = []  # noqa: RUF012 - a pydantic field, copied per instance
    logprob: Any = None
    top_logprobs: Any = None
    calls: list[dict] = []  # noqa: RUF012 - a pydantic field, copied per instance
    fail_times: int = 0
    """Raise a ConnectionError on this many requests first (to test retries)."""
    error: Any = None
    """An exception raised on every request (to test how failures surface)."""
    supports_n_samples: bool = True

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:
        """Tools are accepted and ignored (the script decides which tool calls to make); other
        settings (``max_tokens``, ``tool_choice``...) reach ``_generate`` as with a real model."""
        return self.bind(**kwargs) if kwargs else self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        n = int(kwargs.get("n") or 1)
        self.calls.append({"messages": messages, "n": n, "kwargs": kwargs})
        if self.error is not None:
            raise self.error
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("scripted endpoint is down")
        if self.responder is not None:
            texts = list(self.responder(messages, n))
        else:
            if not self.script:
                raise RuntimeError("ScriptedChatModel: script exhausted")
            entry = self.script.pop(0)
            texts = [entry] * n if isinstance(entry, (str, AIMessage)) else list(entry)
        prompt_tokens = sum(len(str(m.content)) for m in messages) // 4
        generations = []
        for i, reply in enumerate(texts[:n]):
            message = reply.model_copy() if isinstance(reply, AIMessage) else AIMessage(reply)
            text = str(message.content)
            info: dict[str, Any] = {"finish_reason": "stop"}
            lp = self.logprob[i] if isinstance(self.logprob, list) else self.logprob
            if lp is not None:
                info["logprobs"] = {"content": [{"token": t, "logprob": lp} for t in text.split()]}
            if self.top_logprobs is not None and kwargs.get("top_logprobs"):
                top = self.top_logprobs(messages)
                info["logprobs"] = {
                    "content": [
                        {
                            "token": text,
                            "logprob": max(top.values(), default=0.0),
                            "top_logprobs": [{"token": t, "logprob": v} for t, v in top.items()],
                        }
                    ]
                }
            generations.append(ChatGeneration(message=message, generation_info=info))
        completion = sum(max(1, len(str(g.message.content)) // 4) for g in generations)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion}
        for gen in generations:  # like langchain-openai: the request's usage on every choice
            gen.message.usage_metadata = {
                "input_tokens": prompt_tokens,
                "output_tokens": completion,
                "total_tokens": prompt_tokens + completion,
            }
        return ChatResult(generations=generations, llm_output={"token_usage": usage})

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """One reply (``n`` is 1 when streaming), a word per chunk."""
        result = self._generate(messages, stop, run_manager, **{**kwargs, "n": 1})
        message = result.generations[0].message
        words = str(message.content).split(" ")
        for i, word in enumerate(words):
            text = word if i == len(words) - 1 else word + " "
            last = i == len(words) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(
                    content=text, usage_metadata=message.usage_metadata if last else None
                )
            )
            if run_manager is not None:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
