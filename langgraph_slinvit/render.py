"""Show a SLINVIT run live: candidates, scores, the chosen sub-goal, real actions, the answer."""

from __future__ import annotations

import sys
from typing import Any, TextIO


def _short(text: str, limit: int = 160) -> str:
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


class PlainRenderer:
    """One line per event, for logs and pipes."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr

    def event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        d = ev.get("decision", "")
        if kind == "candidates":
            for c in ev["candidates"]:
                self._line(f"[{d}] candidate  P={c['p_llm']:.2f}  {_short(c['action'])}")
        elif kind == "scores":
            for p in ev["paths"]:
                self._line(
                    f"[{d}] score {p['score']:.3f} = prior {p['prior']:.3f} + value "
                    f"{p['v_hat']:.3f}  {_short(' ; '.join(p['actions']))}"
                )
        elif kind == "choice":
            self._line(f"[{d}] chosen     {_short(' ; '.join(ev['actions']))}")
        elif kind == "action":
            self._line(f"[{d}] ran        {_short(ev['action'])}")
            self._line(f"[{d}] observed   {_short(ev['output'], 300)}")
        elif kind == "submit":
            self._line(f"[{d}] submit")
        elif kind == "resample":
            self._line(f"[{d}] resample   every candidate failed in its fork: round {ev['round']}")
        elif kind == "no_gain":
            self._line(
                f"[{d}] stop       no candidate beats a result in hand "
                f"(best value {ev['v_hat']:.3f})"
            )

    def _line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def summary(self, result: dict[str, Any]) -> None:
        print(result["answer"], file=sys.stdout)
        print(file=sys.stdout)
        for i, action in enumerate(result["actions"], 1):
            print(f"action {i}: {_short(action, 300)}", file=sys.stdout)
        print("usage: " + ", ".join(f"{k}={v}" for k, v in result["usage"].items()))


class RichRenderer(PlainRenderer):
    """Coloured output for a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        super().__init__()
        self.console = Console(stderr=True)

    def event(self, ev: dict[str, Any]) -> None:
        from rich.markup import escape
        from rich.table import Table

        kind = ev.get("type")
        d = ev.get("decision", "")
        c = self.console
        if kind == "candidates":
            c.rule(f"decision {d}")
            for cand in ev["candidates"]:
                c.print(
                    f"  [cyan]candidate[/] P={cand['p_llm']:.2f}  {escape(_short(cand['action']))}"
                )
        elif kind == "scores":
            table = Table("score", "prior", "value", "path", box=None, pad_edge=False)
            for p in ev["paths"]:
                table.add_row(
                    f"{p['score']:.3f}",
                    f"{p['prior']:.3f}",
                    f"{p['v_hat']:.3f}",
                    escape(_short(" ; ".join(p["actions"]), 100)),
                )
            c.print(table)
        elif kind == "choice":
            c.print(f"  [bold green]sub-goal[/] {escape(_short(' ; '.join(ev['actions'])))}")
        elif kind == "action":
            c.print(f"  [bold yellow]ran[/] {escape(_short(ev['action']))}")
            c.print(f"  [dim]{escape(_short(ev['output'], 400))}[/]")
        elif kind == "submit":
            c.print("  [bold green]submit[/]")
        elif kind == "resample":
            c.print(
                f"  [magenta]resample[/]: every candidate failed in its fork (round {ev['round']})"
            )
        elif kind == "no_gain":
            c.print(
                f"  [bold green]stop[/]: no candidate beats a result in hand "
                f"(best value {ev['v_hat']:.3f})"
            )

    def summary(self, result: dict[str, Any]) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.panel import Panel

        out = Console()
        out.print(Panel(escape(result["answer"]), title="answer"))
        for i, action in enumerate(result["actions"], 1):
            out.print(f"[bold]action {i}[/]: {escape(_short(action, 300))}")
        usage = result["usage"]
        out.print("[dim]" + ", ".join(f"{k}={v}" for k, v in usage.items()) + "[/]")


def make_renderer(quiet: bool = False) -> PlainRenderer | None:
    if quiet:
        return None
    return RichRenderer() if sys.stderr.isatty() else PlainRenderer()
