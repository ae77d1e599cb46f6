"""Fetch the default local model and build/cache llama-server; print their paths.

Used by CI before the tests (both steps are cached, so later runs take a second):

    python tools/prepare_local_model.py
"""

from __future__ import annotations

import sys
import time

from langgraph_slinvit.local import ensure_default_model, ensure_llama_server


def main() -> int:
    t0 = time.monotonic()
    model = ensure_default_model()
    t1 = time.monotonic()
    server = ensure_llama_server()
    t2 = time.monotonic()
    print(f"model: {model}  ({t1 - t0:.1f}s)")
    print(f"llama-server: {server}  ({t2 - t1:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
