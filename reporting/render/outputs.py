"""Atomic output: a report's files appear together and complete, or not at all."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from reporting.errors import ConfigError, WriteFailed

log = logging.getLogger(__name__)

# `=` stays: a parameterised run's stem reads `payments-kpis--region=US`.
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_stem(name: str) -> str:
    """A file name stem that cannot leave its folder or hide itself."""
    stem = _UNSAFE.sub("-", name).strip(".-") or "report"
    return stem[:120]


PROBE_BYTES = 16 * 1024  # room a report needs at the least: a folder without it fails now


def check_output_folder(out_dir: Path) -> None:
    """ConfigError unless `out_dir` is (or can be made) a writable folder with some room.

    Run before the first model call, so a read-only mount, a full disk or a file in the
    way costs nothing instead of a whole build's calls.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"output folder {out_dir} is a file, not a folder")
    # Not created here (an invalid outline must leave no folder behind): the probe goes to
    # the nearest folder that exists, where the missing ones would be made.
    existing = next((p for p in (out_dir, *out_dir.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise ConfigError(
            f"output folder {out_dir} cannot be written: {existing} is a file, not a folder"
        )
    try:
        probe = _create_temp(existing, "probe")
        try:
            with probe.open("wb") as handle:
                handle.write(b"\0" * PROBE_BYTES)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"output folder {out_dir} cannot be written: {exc.strerror or exc}"
        ) from None


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


def _parts(name: str) -> tuple[str | None, str]:
    """A staged name as (subfolder or None, file name); at most one folder level, not hidden."""
    if "/" not in name:
        return None, name
    folder, _, file = name.partition("/")
    for part in (folder, file):
        if part in ("", ".", "..") or "/" in part or "\\" in part:
            raise ValueError(f"not a file name or one folder and a file name: {name!r}")
    if folder.startswith("."):
        raise ValueError(f"a staged folder cannot be hidden: {name!r}")
    return folder, file


class Stage:
    """What `staged` yields: `stage(name)` is the temporary path to write `name` to.

    A name is a file in the output folder (`report.md`) or in one subfolder of it
    (`report.files/chart-1.png`). A subfolder a build stages into, or names with `own`, is
    the build's: after the renames, its files that this build did not write are removed.
    """

    def __init__(self, out_dir: Path) -> None:
        """Stage into `out_dir`, which exists."""
        self.out_dir = out_dir
        self.files: dict[str, Path] = {}
        self.owned: set[str] = set()
        self.created: list[Path] = []  # subfolders made for this build: gone again on failure

    def __call__(self, name: str) -> Path:
        """A new hidden temporary file beside `name`'s target; write `name`'s content there."""
        folder, file = _parts(name)
        where = self.out_dir
        if folder is not None:
            self.own(folder)
            where = self.out_dir / folder
            try:
                where.mkdir()
                self.created.append(where)
            except FileExistsError:
                if not where.is_dir():
                    raise
        if name in self.files:  # staged again: the later write wins
            self.files.pop(name).unlink(missing_ok=True)
        temp = _create_temp(where, file)
        self.files[name] = temp
        return temp

    def own(self, folder: str) -> None:
        """Make a subfolder this build's even if it writes nothing there (its old files go)."""
        _parts(f"{folder}/x")
        self.owned.add(folder)

    def _commit(self) -> None:
        """Fsync every file, then rename them all: subfolders' first, so that a report's
        Markdown never names a chart not yet there; then remove stale files of owned folders."""
        for temp in self.files.values():
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
        for name, temp in sorted(self.files.items(), key=lambda item: "/" not in item[0]):
            os.replace(temp, self.out_dir / name)
        for folder in sorted(self.owned):
            self._prune(folder)

    def _prune(self, folder: str) -> None:
        """Remove the files of an owned folder that this build did not write; if none is
        left, the folder. Hidden files (another build's temporary ones) are left alone."""
        path = self.out_dir / folder
        if not path.is_dir():
            return
        keep = {name.partition("/")[2] for name in self.files if name.startswith(f"{folder}/")}
        for entry in path.iterdir():
            if entry.name in keep or entry.name.startswith(".") or entry.is_dir():
                continue
            try:
                entry.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove the stale file %s: %s", entry, exc)
        if not keep:
            with contextlib.suppress(OSError):  # not empty: someone else's files stay
                path.rmdir()

    def _discard(self) -> None:
        """Remove every temporary file, and the subfolders made for this build if empty."""
        for temp in self.files.values():
            temp.unlink(missing_ok=True)
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def staged(out_dir: Path) -> Iterator[Stage]:
    """Stage files in `out_dir`; on success they replace their targets, on failure vanish.

    Yields `stage(name) -> temp path` (a `Stage`); write each file there. Every file is complete
    before any target is touched, and each rename within one folder is atomic, so a reader never
    sees a half-written file and a failed build changes nothing. Files in a subfolder
    (`report.files/chart-1.png`) are staged in that subfolder, which is created if missing;
    files there that the build did not write are removed after the renames.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Stage(out_dir)
    try:
        yield stage
        stage._commit()
    except OSError as exc:  # a full disk or a folder gone read-only: say where and why
        stage._discard()
        where = exc.filename or out_dir
        raise WriteFailed(
            f"could not write the report's files in {out_dir} ({where}): "
            f"{exc.strerror or exc}; nothing was changed there"
        ) from None
    except BaseException:
        stage._discard()
        raise
    finally:
        for temp in stage.files.values():  # renamed already, unless the build failed
            temp.unlink(missing_ok=True)
