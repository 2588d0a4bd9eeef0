"""Golden builds: every example outline built against the loopback servers with a fixed clock.

`python tests/golden.py` rewrites `tests/golden/` from the current code; `tests/test_golden.py`
builds again and compares, so a refactor that changes a byte of any report fails a test.
The `.md` is compared byte for byte, the manifest as JSON with its timings, versions and the
servers' ports left out (they differ from run to run, nothing else may).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from freezegun import freeze_time

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from loopback import OllamaServer, OpenAIServer  # noqa: E402

REPO = HERE.parent
EXAMPLES = REPO / "examples" / "outlines"
GOLDEN = HERE / "golden"
CLOCK = "2026-11-30 09:00:00"
KEY = "sk-golden-5e1d0c9a7b"

# Keys whose values are timings or machine facts: they are left out of the comparison.
VOLATILE = {
    "started_at",
    "finished_at",
    "duration_s",
    "started_s",
    "latency_s",
    "elapsed_s",
    "latency_ms",
    "extra_latency_s",
}


def golden_reply(body: dict[str, Any]) -> str:
    """A reply that depends on every message, cites [1] and echoes a figure of the prompt."""
    messages = body.get("messages") or []
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
    last = " ".join(str(messages[-1].get("content", "")).split()[:12]) if messages else ""
    return (
        f"This part restates the brief ({digest[:8]}) [1]. "
        f"It was asked: {last}. "
        f"A second sentence follows with the marker {digest[8:16]} [2]."
    )


def normalise(record: Any) -> Any:
    """The manifest without timings, package versions or loopback addresses."""
    if isinstance(record, dict):
        return {
            key: normalise(value)
            for key, value in record.items()
            if key not in VOLATILE and key != "versions"
        }
    if isinstance(record, list):
        return [normalise(item) for item in record]
    if isinstance(record, str):
        record = re.sub(r"(@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+", r"\1", record)
        return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT", record)
    return record


@contextmanager
def _environment(openai_url: str, ollama_url: str) -> Iterator[None]:
    """A hybrid build's settings, and nothing of the machine's own."""
    saved = dict(os.environ)
    from reporting.settings import Settings

    names = {name.upper() for name in Settings.model_fields} | {"REPORT_PROVIDER"}
    for name in list(os.environ):
        if name.upper() in names or name.upper().startswith(("OPENAI_", "OLLAMA_")):
            del os.environ[name]
    os.environ.update(
        VRA_HYBRID_MODE="true",
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=openai_url,
        OLLAMA_HOST=ollama_url,
        RETRY_BACKOFF_MAX="0",
        REQUEST_TIMEOUT="60",  # a loaded CI machine must not turn a loopback reply into a retry
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def build_examples(work: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Build every example outline in `work`; per stem, its Markdown and normalised manifest."""
    # Imported before the clock is frozen: libraries that subclass `date` must see the real one.
    import langchain_core.messages  # noqa: F401
    import langchain_ollama  # noqa: F401
    import langchain_openai  # noqa: F401
    import pydantic.v1  # noqa: F401
    from typer.testing import CliRunner

    # The pipeline's models too: pydantic builds a schema for `date` fields on import.
    import reporting.build
    import reporting.comparison
    import reporting.compiler.estimate
    import reporting.data.query  # noqa: F401
    from reporting.cli import app

    shutil.copytree(EXAMPLES, work / "outlines")
    shutil.copytree(EXAMPLES.parent / "data", work / "data")  # what payments-kpis.yaml queries
    built: dict[str, tuple[str, dict[str, Any]]] = {}
    before = Path.cwd()
    os.chdir(work)  # relative paths in the manifest, and no .env of the repository
    try:
        with (
            OpenAIServer(reply=golden_reply) as cloud,
            OllamaServer(reply=golden_reply) as local,
            _environment(cloud.url, local.url),
        ):
            for outline in sorted((work / "outlines").glob("*.yaml")):
                with freeze_time(CLOCK, tick=True):
                    result = CliRunner().invoke(
                        app,
                        ["build", f"outlines/{outline.name}", "--out", "out", "--no-cache"],
                        catch_exceptions=False,
                    )
                if result.exit_code != 0:
                    raise RuntimeError(f"{outline.name}: exit {result.exit_code}\n{result.stderr}")
                stem = outline.stem
                markdown = (work / "out" / f"{stem}.md").read_text(encoding="utf-8")
                manifest = json.loads((work / "out" / f"{stem}.run.json").read_text("utf-8"))
                built[stem] = (markdown, normalise(manifest))
                # The plan and its cost estimate, as `report plan --json` prints them.
                result = CliRunner().invoke(
                    app, ["plan", f"outlines/{outline.name}", "--json"], catch_exceptions=False
                )
                built[f"{stem}.plan"] = ("", normalise(json.loads(result.stdout)))
            # One comparison with the judge: both sides of every pair, and the verdicts.
            with freeze_time(CLOCK, tick=True):
                result = CliRunner().invoke(
                    app,
                    ["compare", "outlines/storage-outage.yaml", "--judge", "--out", "out"],
                    catch_exceptions=False,
                )
            if result.exit_code != 0:
                raise RuntimeError(f"compare: exit {result.exit_code}\n{result.stderr}")
            compared = json.loads((work / "out" / "storage-outage.compare.json").read_text())
            markdown = (work / "out" / "storage-outage.compare.md").read_text(encoding="utf-8")
            markdown = re.sub(r"\| latency \|.*\|", "| latency | (timing) |", markdown)
            built["storage-outage.compare"] = (markdown, normalise(compared))
    finally:
        os.chdir(before)
    return built


def write_golden(built: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Replace `tests/golden/` with these builds."""
    shutil.rmtree(GOLDEN, ignore_errors=True)
    GOLDEN.mkdir()
    for stem, (markdown, manifest) in built.items():
        if markdown:
            (GOLDEN / f"{stem}.md").write_text(markdown, encoding="utf-8")
        (GOLDEN / f"{stem}.run.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )


def main() -> None:
    """Rewrite the golden files from the code as it is now."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        built = build_examples(Path(folder))
    write_golden(built)
    print(f"wrote {len(built)} golden builds to {GOLDEN}")


if __name__ == "__main__":
    main()
