"""A persistent cache of phase results (sqlite3, WAL), so no text is paid for twice.

The key hashes everything that decides a call's text: the prompt messages, the provider, the
model, the generation parameters and the prompt-template version. Results are stored as soon
as they arrive, so a build that dies keeps what it had and the next one resumes from there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from reporting.errors import ConfigError
from reporting.settings import Settings

CACHE_FILE = "cache.sqlite3"
# sqlite's application_id marks the file as ours; a foreign database is never touched.
APPLICATION_ID = 0x52505431  # "RPT1"
SCHEMA_VERSION = 1
_log = logging.getLogger("reporting.compiler.cache")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CachedResult:
    """A stored phase result."""

    text: str
    input_tokens: int
    output_tokens: int
    provider: str
    model: str
    created: float


@dataclass(frozen=True)
class ModelEntries:
    """The cached results of one provider and model."""

    provider: str
    model: str
    entries: int
    output_tokens: int


@dataclass(frozen=True)
class CacheStats:
    """Entries, size and age of a cache file, in total and per provider and model."""

    path: str
    entries: int
    bytes: int
    oldest: str | None  # ISO time of the oldest entry, None when empty
    newest: str | None
    by_model: list[ModelEntries]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, keys in field order."""
        return dataclasses.asdict(self)


def cache_key(
    messages: Sequence[BaseMessage],
    provider: str,
    model: str,
    params: dict[str, Any],
    prompt_version: str,
) -> str:
    """SHA-256 over everything that decides the text of one call."""
    payload = {
        "messages": [[m.type, m.content] for m in messages],
        "provider": provider,
        "model": model,
        "params": params,
        "prompt_version": prompt_version,
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


class PhaseCache:
    """The cache file of one folder; safe for several builds (processes) at once."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / CACHE_FILE
        self._lock = threading.Lock()
        self.unwritable: str | None = None  # why writes stopped (disk full, read-only): said once
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the cache folder {folder}: {exc.strerror}") from None
        self._db = self._open()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _open(self, rebuilt: bool = False) -> sqlite3.Connection:
        """Open the file, rebuilding it when corrupted; refuse a database that is not ours.

        A full disk, a read-only file system or a permission is not corruption: the file stays
        as it is and is read without writing (`_stop_writing`). `rebuilt` is set on the one
        retry after moving a damaged file aside, so no error path can recurse.
        """
        try:
            db = self._connect()
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            # Our table and the index SQLite makes for its key (sqlite_autoindex_results_1).
            tables = {
                row[0]
                for row in db.execute("SELECT name FROM sqlite_master")
                if not row[0].startswith("sqlite_")
            }
        except sqlite3.DatabaseError as exc:
            if _not_corruption(exc):
                return self._read_only(exc)
            return self._rebuild(f"unreadable ({exc})", rebuilt)
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables - {"results"}):
            db.close()
            raise ConfigError(
                f"{self.path} is not a reporting cache; set REPORT_CACHE_DIR to another folder "
                "or remove the file"
            )
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute(_SCHEMA)
            db.execute("SELECT count(*) FROM results").fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            if _not_corruption(exc):
                return self._read_only(exc)
            return self._rebuild(f"damaged ({exc})", rebuilt)
        return db

    def _read_only(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """The healthy file opened for reading only; writes are skipped, said once."""
        self._stop_writing(exc)
        try:
            return sqlite3.connect(
                f"file:{self.path}?mode=ro",
                uri=True,
                timeout=30,
                check_same_thread=False,
                isolation_level=None,
            )
        except sqlite3.DatabaseError:  # not even readable (no file yet, no permission)
            return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)

    def _stop_writing(self, exc: Exception) -> None:
        """No more writes for this build: one warning, whatever the number of calls left."""
        if self.unwritable is None:
            self.unwritable = str(exc)
            _log.warning(
                "cache %s cannot be written (%s); the build goes on without storing its calls",
                self.path,
                exc,
            )

    def _rebuild(self, why: str, rebuilt: bool = False) -> sqlite3.Connection:
        """Move a broken cache aside and start an empty one (once: a second failure is an error)."""
        if rebuilt:
            raise ConfigError(
                f"cache {self.path} is {why} even after starting anew; "
                "set REPORT_CACHE_DIR to another folder"
            )
        aside = self.path.with_name(f"{CACHE_FILE}.broken-{int(time.time())}")
        try:
            self.path.replace(aside)
        except OSError as exc:
            raise ConfigError(
                f"cache {self.path} is {why} and cannot be moved aside: "
                f"{exc.strerror}; set REPORT_CACHE_DIR to another folder"
            ) from None
        for suffix in ("-wal", "-shm"):
            self.path.with_name(CACHE_FILE + suffix).unlink(missing_ok=True)
        _log.warning("cache %s was %s; moved to %s and started anew", self.path, why, aside.name)
        return self._open(rebuilt=True)

    def get(self, key: str) -> CachedResult | None:
        """The stored result for a key, if any."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT text, input_tokens, output_tokens, provider, model, created "
                    "FROM results WHERE key = ?",
                    (key,),
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                _log.warning("cache read failed, treated as a miss: %s", exc)
                return None
        return CachedResult(*row) if row else None

    def put(self, key: str, result: CachedResult) -> None:
        """Store a result now (each insert is its own transaction, so a crash keeps it)."""
        with self._lock:
            if self.unwritable is not None:
                return
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        result.text,
                        result.input_tokens,
                        result.output_tokens,
                        result.provider,
                        result.model,
                        result.created,
                    ),
                )
            except sqlite3.DatabaseError as exc:  # a full disk must not fail the report
                if _not_corruption(exc):
                    self._stop_writing(exc)
                else:
                    _log.warning("cache write failed: %s", exc)

    def stats(self) -> CacheStats:
        """Entries, size and age, in total and per provider and model."""
        with self._lock:
            rows = self._db.execute(
                "SELECT provider, model, count(*), sum(output_tokens), min(created), max(created) "
                "FROM results GROUP BY provider, model ORDER BY provider, model"
            ).fetchall()
        size = sum(
            p.stat().st_size
            for p in self.path.parent.glob(CACHE_FILE + "*")
            if p.is_file() and ".broken-" not in p.name
        )

        def iso(stamp: float | None) -> str | None:
            return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat() if stamp else None

        return CacheStats(
            path=str(self.path),
            entries=sum(row[2] for row in rows),
            bytes=size,
            oldest=iso(min((row[4] for row in rows), default=None)),
            newest=iso(max((row[5] for row in rows), default=None)),
            by_model=[ModelEntries(r[0], r[1], r[2], r[3] or 0) for r in rows],
        )

    def clear(self, older_than_days: float | None = None) -> int:
        """Delete all entries, or those older than a number of days; returns how many."""
        with self._lock:
            if older_than_days is None:
                cursor = self._db.execute("DELETE FROM results")
            else:
                cutoff = time.time() - older_than_days * 86_400
                cursor = self._db.execute("DELETE FROM results WHERE created < ?", (cutoff,))
            self._db.execute("VACUUM")
        return cursor.rowcount

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


# SQLite's words for a disk that is full, read-only or not ours to write: the file is fine.
_NOT_CORRUPTION = (
    "disk is full",
    "readonly database",
    "read-only",
    "unable to open database file",
    "permission denied",
    "attempt to write a readonly",
    "disk i/o error",  # what SQLite says when a write fails for want of room (EFBIG, EIO)
)


def _not_corruption(exc: Exception) -> bool:
    """Whether a SQLite error is about the disk or permissions rather than the file's bytes."""
    message = str(exc).lower()
    return any(words in message for words in _NOT_CORRUPTION)


def cache_folder(settings: Settings, out_dir: Path) -> Path:
    """REPORT_CACHE_DIR, else `.report_cache/` in the output folder."""
    return settings.report_cache_dir or out_dir / ".report_cache"
