"""Measure the embedded local model: fetch/build times, startup, time to first token,
generation and prompt tokens/s, n=3 throughput and the server's peak RSS.

    python tools/bench_local_model.py                # uses the caches
    python tools/bench_local_model.py --download     # also time a fresh download+join
    python tools/bench_local_model.py --threads 2 --json

Build time is read from the cached build's build-info.json (recorded when it was built).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from langgraph_slinvit.local import (
    DEFAULT_MODEL,
    LocalLlamaServer,
    ensure_default_model,
    ensure_llama_server,
)

PROMPT_UNIT = (
    "def merge_sorted(a, b):\n"
    "    out, i, j = [], 0, 0\n"
    "    while i < len(a) and j < len(b):\n"
    "        if a[i] <= b[j]:\n"
    "            out.append(a[i]); i += 1\n"
    "        else:\n"
    "            out.append(b[j]); j += 1\n"
    "    return out + a[i:] + b[j:]\n"
)


def _post(url: str, payload: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def _rss_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


def _stream_ttft(base_url: str, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    payload = {
        "model": "local",
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "cache_prompt": False,
    }
    req = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    t0 = time.monotonic()
    ttft = None
    n_chunks = 0
    timings: dict[str, Any] = {}
    with urllib.request.urlopen(req, timeout=600) as resp:
        for raw in resp:
            line = raw.decode(errors="replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            timings = chunk.get("timings") or timings
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    n_chunks += 1
                    if ttft is None:
                        ttft = time.monotonic() - t0
    return {
        "ttft_s": ttft,
        "total_s": time.monotonic() - t0,
        "chunks": n_chunks,
        "timings": timings,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=None, help="default: $SLINVIT_THREADS or 1")
    ap.add_argument("--download", action="store_true", help="time a fresh download+join")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    report: dict[str, Any] = {}

    if args.download:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            ensure_default_model(cache_dir=tmp, progress=False)
            report["download_join_verify_s"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    model = ensure_default_model()
    report["model_ready_s"] = round(time.monotonic() - t0, 2)
    binary = ensure_llama_server()
    info_file = binary.parent.parent / "build-info.json"
    if info_file.is_file():
        info = json.loads(info_file.read_text())
        report["build_s"] = info.get("build_seconds")
        report["llama_cpp"] = info.get("server_version", "").splitlines()[0]
        report["cpu_variant"] = info.get("cpu_variant")
    report["model"] = DEFAULT_MODEL.filename if model.name == DEFAULT_MODEL.filename else model.name

    t0 = time.monotonic()
    server = LocalLlamaServer(model, threads=args.threads, binary=binary)
    report["server_start_s"] = round(time.monotonic() - t0, 2)
    report["threads"] = server.threads
    try:
        assert server.pid is not None
        report["rss_idle_mib"] = round(_rss_kib(server.pid)["VmRSS"] / 1024, 1)
        base = server.base_url
        system = {"role": "system", "content": "You are a concise coding assistant."}
        short = [system, {"role": "user", "content": "Write a Python function is_prime(n)."}]
        long_prompt = "Explain what this code does, briefly:\n\n" + PROMPT_UNIT * 12
        long = [system, {"role": "user", "content": long_prompt}]

        _post(f"{base}/chat/completions", {"messages": short, "max_tokens": 4})  # warm up
        stream = _stream_ttft(base, short, args.max_tokens)
        report["ttft_s"] = round(stream["ttft_s"] or float("nan"), 3)

        res = _post(
            f"{base}/chat/completions",
            {
                "messages": long,
                "max_tokens": args.max_tokens,
                "temperature": 0.0,
                "cache_prompt": False,
            },
        )
        t = res.get("timings") or {}
        report["prompt_tokens"] = t.get("prompt_n")
        report["prompt_tok_s"] = round(t.get("prompt_per_second", 0.0), 1)
        report["gen_tokens"] = t.get("predicted_n")
        report["gen_tok_s"] = round(t.get("predicted_per_second", 0.0), 1)

        t0 = time.monotonic()
        res = _post(
            f"{base}/chat/completions",
            {
                "messages": short,
                "max_tokens": args.max_tokens,
                "temperature": 0.8,
                "n": 3,
                "logprobs": True,
            },
        )
        wall = time.monotonic() - t0
        # usage.completion_tokens may count one choice only: count the logprob tokens
        done = sum(
            len(((c.get("logprobs") or {}).get("content")) or []) for c in res.get("choices", [])
        )
        report["n3_choices"] = len(res.get("choices", []))
        report["n3_completion_tokens"] = done
        report["n3_wall_s"] = round(wall, 2)
        report["n3_agg_tok_s"] = round(done / wall, 1) if wall else None
        rss = _rss_kib(server.pid)
        report["rss_mib"] = round(rss["VmRSS"] / 1024, 1)
        report["rss_peak_mib"] = round(rss["VmHWM"] / 1024, 1)
    finally:
        server.stop()

    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
