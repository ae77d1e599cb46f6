"""The command line: --json prints one object, errors are one line with exit code 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from langgraph_slinvit import cli, models
from langgraph_slinvit.demo import DEMO_ANSWER
from langgraph_slinvit.render import PlainRenderer
from tests.conftest import RIGHT, fenced, scripted

DEMO_SQL = "SELECT name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)"


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch):
    holder = {}

    def fake_chat_model(**kwargs):
        holder["kwargs"] = kwargs
        return holder["model"]

    monkeypatch.setattr(models, "chat_model", fake_chat_model)
    monkeypatch.setenv("SLINVIT_CACHE_DIR", "/tmp/slinvit-test-cache")
    return holder


def test_ask_json_prints_exactly_one_object(shop_db: Path, fake_model, capsys) -> None:
    fake_model["model"] = scripted([fenced(RIGHT)])
    code = cli.main(
        [
            "ask",
            "Who never ordered?",
            "--db",
            f"sqlite:///{shop_db}",
            "--json",
            "--k",
            "2",
            "--rollouts",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)  # the whole of stdout is one JSON object
    assert set(result) == {"answer", "actions", "usage"}
    assert result["actions"] == [RIGHT]
    assert "Bob" in result["answer"]
    assert result["usage"]["llm_calls"] >= 2


def test_demo_shows_the_search_and_answers(fake_model, capsys) -> None:
    fake_model["model"] = scripted([fenced(DEMO_SQL)], summary="Dijkstra and Hamilton.")
    assert cli.main(["demo", "--k", "1", "--rollouts", "1"]) == 0
    captured = capsys.readouterr()
    assert "candidate" in captured.err and "ran" in captured.err  # the live view (plain lines)
    for name in DEMO_ANSWER:
        assert name in captured.out
    assert "usage:" in captured.out and "llm_calls=" in captured.out


def test_knobs_reach_the_config(shop_db: Path, fake_model, monkeypatch) -> None:
    seen = {}
    real = cli._config

    def spy(args):
        seen["cfg"] = real(args)
        return seen["cfg"]

    monkeypatch.setattr(cli, "_config", spy)
    fake_model["model"] = scripted([fenced(RIGHT)])
    cli.main(
        [
            "ask",
            "q",
            "--db",
            f"sqlite:///{shop_db}",
            "--k",
            "2",
            "--depth",
            "2",
            "--rollouts",
            "3",
            "--horizon",
            "4",
            "--lam",
            "0.25",
            "--max-llm-calls",
            "30",
            "--stop-when",
            "no_gain",
            "--json",
        ]
    )
    cfg = seen["cfg"]
    assert (cfg.k, cfg.depth, cfg.rollouts, cfg.horizon, cfg.lam, cfg.max_llm_calls) == (
        2,
        2,
        3,
        4,
        0.25,
        30,
    )
    assert cfg.stop_when == "no_gain"


def test_first_result_stop_rule_reaches_the_config(shop_db: Path, fake_model, monkeypatch) -> None:
    seen = {}
    real = cli._config
    monkeypatch.setattr(cli, "_config", lambda args: seen.setdefault("cfg", real(args)))
    fake_model["model"] = scripted([fenced(RIGHT)])
    cli.main(["ask", "q", "--db", f"sqlite:///{shop_db}", "--stop-when", "first_result", "--json"])
    assert seen["cfg"].stop_when == "first_result"


def test_local_server_gets_a_slot_per_sample(shop_db: Path, fake_model, monkeypatch) -> None:
    # llama-server refuses a request whose n exceeds its --parallel slots ("Field 'n': Value
    # must be between 1 <= value <= 4"), so the local model is started with enough of them.
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake_model["model"] = scripted([fenced(RIGHT)])
    cli.main(["ask", "q", "--db", f"sqlite:///{shop_db}", "--samples", "6", "--json"])
    assert fake_model["kwargs"]["parallel"] == 6
    cli.main(
        ["ask", "q", "--db", f"sqlite:///{shop_db}", "--preset", "default", "--k", "2", "--json"]
    )
    assert fake_model["kwargs"]["parallel"] == 4
    cli.main(["ask", "q", "--db", f"sqlite:///{shop_db}", "--json"])  # the sql preset: n = 8
    assert fake_model["kwargs"]["parallel"] == 8
    cli.main(
        [
            "ask",
            "q",
            "--db",
            f"sqlite:///{shop_db}",
            "--preset",
            "default",
            "--rollouts",
            "7",
            "--json",
        ]
    )
    assert fake_model["kwargs"]["parallel"] == 7


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ask", "q", "--db", "sqlite:///definitely/missing.db"], "not found"),
        (["ask", "q", "--db", "not a url"], "not a database URL"),
        (["ask", "q", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "cannot connect"),
        (["run", "t", "--dir", "/definitely/missing"], "directory not found"),
        (["demo", "--k", "0"], "invalid SlinvitConfig"),
    ],
)
def test_user_errors_are_one_line(argv, needle, fake_model, capsys) -> None:
    fake_model["model"] = scripted(["x"])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("slinvit: error:") and needle in err[0]


def test_unreachable_endpoint_is_one_clear_line(shop_db: Path, capsys) -> None:
    code = cli.main(
        [
            "ask",
            "q",
            "--db",
            f"sqlite:///{shop_db}",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--api-key",
            "x",
            "--json",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("slinvit: error: model endpoint http://127.0.0.1:9/v1 failed")


def test_the_live_view_says_why_a_no_gain_run_stopped() -> None:
    out = io.StringIO()
    PlainRenderer(out).event({"type": "no_gain", "decision": 2, "actions": ["ls"], "v_hat": 1.25})
    line = "[2] stop       no candidate beats a result in hand (best value 1.250)\n"
    assert out.getvalue() == line


def test_the_command_line_and_the_benchmark_cli_import_without_a_cycle() -> None:
    # cli.py imports the benchmark parser only inside build_parser, and the benchmark CLI takes
    # the shared options from cli_options, so each module imports on its own
    import subprocess
    import sys

    probe = (
        "import sys, langgraph_slinvit.cli; "
        "assert not [m for m in sys.modules if m.startswith('langgraph_slinvit.bench')], "
        "'importing cli imported the benchmark package'; "
        "import langgraph_slinvit.bench.cli as b; assert callable(b.add_bench_parser)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
