"""Atomic output: a report's files appear together and complete, or not at all."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(name: str) -> str:
    """A file name stem that cannot leave its folder or hide itself."""
    stem = _UNSAFE.sub("-", name).strip(".-") or "report"
    return stem[:120]


@contextlib.contextmanager
def staged(out_dir: Path) -> Iterator[Callable[[str], Path]]:
    """Stage files in `out_dir`; on success they replace their targets, on failure vanish.

    Yields `stage(name) -> temp path`; write each file there. Every file is complete before
    any target is touched, and each rename within one folder is atomic, so a reader never
    sees a half-written file and a failed build changes nothing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staged_files: dict[str, Path] = {}

    def stage(name: str) -> Path:
        if name in staged_files:  # staged again: the later write wins
            staged_files.pop(name).unlink(missing_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
        os.close(handle)
        staged_files[name] = Path(temp)
        return Path(temp)

    try:
        yield stage
        for name, temp in staged_files.items():
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, out_dir / name)
    finally:
        for temp in staged_files.values():
            temp.unlink(missing_ok=True)
