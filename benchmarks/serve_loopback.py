"""Both loopback servers in a process of their own, so they do not share the client's GIL.

Prints `OPENAI_URL OLLAMA_URL` on one line, then serves until its standard input closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from loopback import OllamaServer, OpenAIServer


def main() -> None:
    """Serve with the latency given as the first argument (seconds)."""
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    with (
        OpenAIServer(latency=latency, keep_alive=True) as cloud,
        OllamaServer(latency=latency, keep_alive=True) as local,
    ):
        print(cloud.url, local.url, flush=True)
        sys.stdin.read()  # until the benchmark closes the pipe


if __name__ == "__main__":
    main()
