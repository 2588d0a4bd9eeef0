"""What the quality gate changes in real reports: each example checked only, then repaired.

Run with `make bench-gate` (about 40 minutes on 2 cores: every build is cold, on the embedded
model). Per outline: `QUALITY_GATE=report` into a fresh cache, then `QUALITY_GATE=repair` on the
same cache, so the second build pays only for its repair calls. Figures come from the manifests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTLINES = ("quarterly-review", "storage-outage", "incident-postmortem", "research-project")


def build(outline: Path, out: Path, cache: Path, gate: str) -> tuple[dict[str, Any], float]:
    """One `report build` as a user runs it; its manifest and wall time."""
    env = {**os.environ, "QUALITY_GATE": gate, "REPORT_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reporting", "build", str(outline), "--out", str(out)],
        env=env,
        check=False,  # a failing text is what this measures, not an error here
        capture_output=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    manifest = json.loads((out / f"{outline.stem}.run.json").read_text(encoding="utf-8"))
    return manifest, wall


def row(name: str, before: dict[str, Any], after: dict[str, Any], cold: float) -> str:
    """One table row: the report's quality with checks only → with repairs, and their cost."""
    q0, q1 = before["quality"], after["quality"]
    steps = len(after["calls"])
    repaired = sum(1 for call in after["calls"] if call.get("repairs"))
    return (
        f"| {name} | {q0['sections_passing']} → {q1['sections_passing']} of {q1['sections']} "
        f"| {q0['within_length']} → {q1['within_length']} "
        f"| {len(q0['unsupported_figures'])} → {len(q1['unsupported_figures'])} "
        f"| {q0['echoes']} → {q1['echoes']} | {q0['leaks']} → {q1['leaks']} "
        f"| {q1['repairs']} in {repaired} of {steps} steps | {q1['extra_latency_s']:.0f} s "
        f"| {cold:.0f} s |"
    )


def main() -> None:
    """Build every example twice and print the table of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outlines", nargs="*", default=list(OUTLINES))
    parser.add_argument("--work", type=Path, help="keep the outputs here (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-gate-"))
    print(
        "| outline | sections passing | within ±25% | unsupported figures (all flagged) "
        "| echoes | leaks | repair calls | repair model time | cold build |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.outlines:
        outline = ROOT / "examples" / "outlines" / f"{name}.yaml"
        cache = work / name / "cache"
        before, cold = build(outline, work / name / "report", cache, "report")
        after, _ = build(outline, work / name / "repair", cache, "repair")
        print(row(name, before, after, cold), flush=True)
    print(f"\noutputs in {work}")


if __name__ == "__main__":
    main()
