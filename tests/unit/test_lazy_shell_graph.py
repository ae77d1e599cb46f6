"""The Studio shell graph imports without bubblewrap and fails its first run with the reason."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from langgraph_slinvit.envs import ShellEnvironment
from langgraph_slinvit.envs.lazy import LazyEnvironment

ROOT = Path(__file__).resolve().parents[2]
SHELL_AGENT = str(ROOT / "graphs" / "shell_agent.py")


def test_lazy_environment_builds_on_first_method_call_only():
    built = []

    class Env:
        language = "bash"

        def describe(self) -> str:
            return "a folder"

    def factory():
        built.append(1)
        return Env()

    env = LazyEnvironment(factory, Env)
    assert env.language == "bash"
    assert getattr(env, "needs_approval", None) is None
    describe = env.describe
    assert built == [] and not env.built
    assert describe() == "a folder" and env.describe() == "a folder"
    assert built == [1] and env.built


def test_a_failing_factory_raises_on_each_use_until_it_works():
    calls = []

    def factory():
        calls.append(1)
        raise RuntimeError("bwrap missing")

    env = LazyEnvironment(factory, ShellEnvironment)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="bwrap missing"):
            env.describe()
    assert len(calls) == 2


def test_studio_shell_graph_imports_without_bwrap_and_its_first_run_names_bubblewrap(tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH without bwrap
    bin_dir.mkdir()
    script = textwrap.dedent(
        f"""
        import importlib.util, shutil
        assert shutil.which("bwrap") is None
        spec = importlib.util.spec_from_file_location("studio_shell", {SHELL_AGENT!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print("imported", type(module.graph).__name__)
        try:
            module.graph.invoke({{"messages": [("user", "list the notes")]}})
        except Exception as exc:
            print("raised", type(exc).__name__, exc)
        else:
            print("ran")
        """
    )
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "SLINVIT_WORKDIR": str(tmp_path),
        "OPENAI_API_KEY": "sk-none",  # a model that is never reached: no local model starts
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "imported CompiledStateGraph"
    assert lines[1].startswith("raised ShellEnvironmentError"), lines[1]
    assert "bubblewrap" in lines[1] and "bwrap not found on PATH" in lines[1]
