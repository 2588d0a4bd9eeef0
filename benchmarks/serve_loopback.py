"""Both loopback servers in a process of their own, so they do not share the client's GIL.

Prints `OPENAI_URL OLLAMA_URL` on one line, then serves until its standard input closes, then
prints `OPENAI_REQUESTS OLLAMA_REQUESTS` (chat requests received) on one line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from loopback import OllamaServer, OpenAIServer


def digest_reply(body: dict[str, Any]) -> str:
    """A reply that depends on the whole prompt, as a real model's does."""
    digest = hashlib.sha256(json.dumps(body.get("messages")).encode()).hexdigest()[:16]
    return f"Generated text {digest}. It is long enough to be a paragraph of a section."


def main() -> None:
    """Serve with the latency given as the first argument (seconds)."""
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    with (
        OpenAIServer(latency=latency, keep_alive=True, reply=digest_reply) as cloud,
        OllamaServer(latency=latency, keep_alive=True, reply=digest_reply) as local,
    ):
        print(cloud.url, local.url, flush=True)
        sys.stdin.read()  # until the benchmark closes the pipe
        print(cloud.count, local.count, flush=True)


if __name__ == "__main__":
    main()
