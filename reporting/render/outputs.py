"""Atomic output: a report's files appear together and complete, or not at all."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_stem(name: str) -> str:
    """A file name stem that cannot leave its folder or hide itself."""
    stem = _UNSAFE.sub("-", name).strip(".-") or "report"
    return stem[:120]


def _create_temp(out_dir: Path, name: str) -> Path:
    """Create a new empty hidden file next to `name`, with the mode `open()` would give it."""
    for _ in range(100):
        temp = out_dir / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            # 0o666 less the umask, as for any file a program writes (mkstemp's is 0o600).
            handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return temp
    raise FileExistsError(f"no free temporary name for {name} in {out_dir}")


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
        temp = _create_temp(out_dir, name)
        staged_files[name] = temp
        return temp

    try:
        yield stage
        for name, temp in staged_files.items():
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, out_dir / name)
    finally:
        for temp in staged_files.values():
            temp.unlink(missing_ok=True)
