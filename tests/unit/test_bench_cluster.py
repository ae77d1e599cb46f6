"""``slinvit bench --ray``: the options, the workers' models, and the error without the extra.

These need no Ray: ``run_bench_ray`` is replaced where the command line reaches it (the runs
themselves are in ``tests/integration/test_bench_ray.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from langgraph_slinvit import cli
from langgraph_slinvit.bench import cluster
from langgraph_slinvit.bench.cli import WorkerModel
from langgraph_slinvit.bench.suites import make_suite

BENCH = ["bench", "--suite", "blocksworld", "--method", "single", "--tasks", "0,1"]


def test_the_package_and_its_command_line_import_without_ray() -> None:
    code = (
        "import sys, langgraph_slinvit.cli, langgraph_slinvit.bench.cluster; "
        "assert 'ray' not in sys.modules, 'ray was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_the_extra_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(cluster.RayUnavailable, match=r"langgraph-slinvit\[ray\]"):
        cluster.import_ray()
    code = cli.main([*BENCH, "--ray", "--results", str(tmp_path / "r.sqlite"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "slinvit: error: running on Ray needs the ray extra: pip install 'langgraph-slinvit[ray]'"
    ]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the command line passes to run_bench_ray (which then runs nothing)."""
    seen: list[dict[str, Any]] = []

    def fake(suite, method, settings, factories, model_name, db, tasks, **kw):
        seen.append({"suite": suite, "factories": factories, "model": model_name, **kw})
        return {"suite": suite.name, "ran": 0, "tasks": [t.task_id for t in tasks]}

    monkeypatch.setattr(cluster, "run_bench_ray", fake)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SLINVIT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return seen


def test_several_endpoints_go_to_the_workers_round_robin(
    calls: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = "http://10.0.0.1:8080/v1, http://10.0.0.2:8080/v1"
    args = ["--ray", "auto", "--workers", "4", "--base-url", urls, "--model", "qwen", "--json"]
    assert cli.main([*BENCH, *args, "--results", str(tmp_path / "r.sqlite")]) == 0
    (call,) = calls
    chosen = [t.task_id for t in make_suite("blocksworld").tasks()[:2]]
    assert json.loads(capsys.readouterr().out)["tasks"] == chosen  # --tasks, as without Ray
    assert call["address"] == "auto" and call["workers"] == 4 and call["cpus_per_worker"] == 1.0
    assert call["model"] == "qwen" and call["suite"].name == "blocksworld"
    factories = call["factories"]
    assert [f.options["base_url"] for f in factories] == [
        "http://10.0.0.1:8080/v1",
        "http://10.0.0.2:8080/v1",
    ]
    model = factories[1](0.3)  # what worker 1 (and 3) builds: a client of the second endpoint
    assert str(model.openai_api_base) == "http://10.0.0.2:8080/v1" and model.temperature == 0.3
    assert model.model_name == "qwen"


def test_plain_ray_starts_a_local_instance_with_an_embedded_model_per_worker(
    calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    args = ["--ray", "--threads", "2", "--json", "--results", str(tmp_path / "r.sqlite")]
    assert cli.main([*BENCH, *args]) == 0
    (call,) = calls
    assert call["address"] is None and call["workers"] is None
    assert call["cpus_per_worker"] == 2.0  # a worker reserves its model's threads
    (factory,) = call["factories"]
    assert factory == WorkerModel({"parallel": 4, "threads": 2}) and factory.embedded
    assert call["model"] == "local:qwen2.5-coder-1.5b-instruct"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://a/v1,http://b/v1"], "several --base-url endpoints need --ray"),
        (["--workers", "2"], "--workers needs --ray"),
        (["--ray", "--workers", "0"], "--workers needs --ray and is at least 1"),
    ],
)
def test_ray_options_out_of_place_are_user_errors(
    args: list[str],
    message: str,
    calls: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main([*BENCH, *args, "--results", str(tmp_path / "r.sqlite")]) == 2
    assert message in capsys.readouterr().err and calls == []
