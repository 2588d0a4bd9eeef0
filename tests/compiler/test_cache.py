"""The phase cache: unchanged rebuilds are free, edits cost what they change, builds resume."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_OUTLINE, PLANTED_KEY, read_manifest
from freezegun import freeze_time
from loopback import Fault, OllamaServer, OpenAIServer
from typer.testing import CliRunner

from reporting.cli import app
from reporting.compiler.cache import CACHE_FILE, CachedResult, PhaseCache
from reporting.compiler.prompts import section_messages
from reporting.outline.loader import load_outline
from reporting.phases import CompilationPhase

runner = CliRunner()


def _build(outline: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["build", str(outline), "--out", str(out), *extra], catch_exceptions=False
    )
    return result.exit_code, result.output


def _requests(*servers: OpenAIServer | OllamaServer) -> int:
    return sum(server.count for server in servers)


def _digest_reply(body: dict) -> str:
    digest = hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest()[:12]
    return f"Section text {digest}."


@pytest.mark.usefixtures("hybrid_env")
def test_unchanged_rebuild_sends_no_request(
    outline_file: Path, tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    out = tmp_path / "out"
    assert _build(outline_file, out)[0] == 0
    cold = _requests(openai_server, ollama_server)
    first = read_manifest(out)
    code, output = _build(outline_file, out)
    assert code == 0, output
    assert _requests(openai_server, ollama_server) == cold  # not one more
    again = read_manifest(out)
    assert all(call["cached"] for call in again["calls"])
    assert again["metrics"]["cloud_calls"] == 0
    assert again["metrics"]["cache_hits"] == len(again["calls"])
    assert sum(call["output_tokens"] for call in again["calls"]) == 0
    # Caching never changes routing: the same provider writes every step.
    assert [c["provider"] for c in again["calls"]] == [c["provider"] for c in first["calls"]]
    assert "Cached=true" in output


@pytest.mark.usefixtures("hybrid_env")
def test_editing_one_brief_costs_its_three_calls_and_the_abstract(
    outline_file: Path, tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    # Replies that depend on the whole prompt, as a real model's do.
    openai_server.reply = ollama_server.reply = _digest_reply
    out = tmp_path / "out"
    assert _build(outline_file, out)[0] == 0
    before = _requests(openai_server, ollama_server)
    outline_file.write_text(
        EXAMPLE_OUTLINE.replace("brief: Batch jobs every hour.", "brief: Batch jobs every day."),
        encoding="utf-8",
    )
    assert _build(outline_file, out)[0] == 0
    assert _requests(openai_server, ollama_server) - before == 4
    fresh = [(c["section"], c["phase"]) for c in read_manifest(out)["calls"] if not c["cached"]]
    assert fresh == [("2.1", "DRAFT"), ("2.1", "EXPAND"), ("2.1", "REFINE"), (None, "ABSTRACT")]


def test_a_failed_build_resumes_without_repeating_a_completed_call(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    hybrid_env.setenv("MAX_RETRIES", "0")
    ollama_server.faults = lambda n, body: Fault.http(500) if n > 6 else None
    out = tmp_path / "out"
    code, _ = _build(outline_file, out)
    assert code == 1
    completed = PhaseCache(out / ".report_cache").stats().entries
    failed = ollama_server.count - 6
    assert completed == openai_server.count + 6  # every successful call was kept
    ollama_server.faults = None
    before = _requests(openai_server, ollama_server)
    code, output = _build(outline_file, out)
    assert code == 0, output
    steps = len(read_manifest(out)["calls"])
    assert _requests(openai_server, ollama_server) - before == steps - completed
    assert failed > 0


@pytest.mark.usefixtures("hybrid_env")
def test_no_cache_neither_reads_nor_writes(
    outline_file: Path, tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    out = tmp_path / "out"
    assert _build(outline_file, out)[0] == 0
    cold = _requests(openai_server, ollama_server)
    assert _build(outline_file, out, "--no-cache")[0] == 0
    assert _requests(openai_server, ollama_server) == 2 * cold
    other = tmp_path / "other"
    assert _build(outline_file, other, "--no-cache")[0] == 0
    assert not (other / ".report_cache").exists()


@pytest.mark.usefixtures("hybrid_env")
def test_refresh_regenerates_one_section(
    outline_file: Path, tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    out = tmp_path / "out"
    assert _build(outline_file, out)[0] == 0
    before = _requests(openai_server, ollama_server)
    code, output = _build(outline_file, out, "--refresh", "2.2")
    assert code == 0, output
    # Its three phases; the abstract's prompt is unchanged (same text back), so it is cached.
    assert _requests(openai_server, ollama_server) - before == 3
    code, output = _build(outline_file, out, "--refresh", "9.9")
    assert code == 2
    assert "--refresh 9.9: no such section" in output


def test_concurrent_builds_share_one_cache(hybrid_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    hybrid_env.setenv("REPORT_CACHE_DIR", str(cache))
    paths = []
    for name in ("one", "two"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(EXAMPLE_OUTLINE.replace("Annual Report", name), encoding="utf-8")
        paths.append(path)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "reporting", "build", str(p), "--out", str(tmp_path / p.stem)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for p in paths
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    stats = PhaseCache(cache).stats()
    assert stats.entries == 2 * (9 * 3 + 1)
    with sqlite3.connect(cache / CACHE_FILE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.usefixtures("hybrid_env")
def test_a_corrupted_cache_is_rebuilt(
    outline_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "out" / ".report_cache"
    folder.mkdir(parents=True)
    (folder / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    code, output = _build(outline_file, tmp_path / "out")
    assert code == 0, output
    assert list(folder.glob(f"{CACHE_FILE}.broken-*"))
    assert PhaseCache(folder).stats().entries == 28


@pytest.mark.usefixtures("hybrid_env")
def test_a_foreign_database_is_refused_not_touched(outline_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out" / ".report_cache"
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / CACHE_FILE) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    code, output = _build(outline_file, tmp_path / "out")
    assert code == 2
    assert "is not a reporting cache" in output
    with sqlite3.connect(folder / CACHE_FILE) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
    assert tables == ["invoices"]


def test_prompts_carry_nothing_volatile(outline_file: Path) -> None:
    outline = load_outline(outline_file)
    section = next(outline.walk())
    now = section_messages(CompilationPhase.DRAFT, outline, section, None)
    with freeze_time("2001-02-03 04:05:06"):
        then = section_messages(CompilationPhase.DRAFT, outline, section, None)
    assert [m.content for m in now] == [m.content for m in then]


def test_cache_stats_and_clear_older_than(tmp_path: Path) -> None:
    cache = PhaseCache(tmp_path)
    with freeze_time("2026-01-01"):
        import time

        old = time.time()
    cache.put("old", CachedResult("a", 1, 2, "openai", "gpt-4o", old))
    cache.put("new", CachedResult("b", 1, 3, "local", "llama3:8b", old + 40 * 86_400))
    stats = cache.stats()
    assert stats.entries == 2
    assert {row.provider for row in stats.by_model} == {"openai", "local"}
    with freeze_time("2026-03-01"):
        assert cache.clear(older_than_days=30) == 1
    assert cache.get("old") is None
    assert cache.get("new") is not None
    result = runner.invoke(
        app,
        ["cache", "stats", "--json"],
        env={"REPORT_CACHE_DIR": str(tmp_path)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entries"] == 1
    assert json.loads(result.stdout)["by_model"] == [
        {"provider": "local", "model": "llama3:8b", "entries": 1, "output_tokens": 3}
    ]
    result = runner.invoke(
        app, ["cache", "clear"], env={"REPORT_CACHE_DIR": str(tmp_path)}, catch_exceptions=False
    )
    assert "removed 1 cached results" in result.stdout


def test_a_model_echoing_the_key_leaves_no_key_in_the_cache(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.reply = lambda body: f"The key is {PLANTED_KEY}. Noted for the report."
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    stored = b"".join(p.read_bytes() for p in (out / ".report_cache").iterdir() if p.is_file())
    assert b"Noted for the report" in stored
    assert PLANTED_KEY.encode() not in stored


def _entry(n: int) -> CachedResult:
    return CachedResult("x" * 4000 + str(n), 10, 20, "ollama", "llama3:8b", 1.0)


def test_a_full_disk_keeps_a_healthy_cache_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = PhaseCache(tmp_path)
    for n in range(22):
        cache.put(f"k{n}", _entry(n))
    # SQLite's own "database or disk is full" (SQLITE_FULL): no page may be added any more.
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count = {pages}")
    with caplog.at_level(logging.WARNING, logger="reporting"):
        for n in range(22, 122):
            cache.put(f"k{n}", _entry(n))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "cannot be written (database or disk is full)" in warnings[0]
    assert [p.name for p in tmp_path.iterdir() if ".broken-" in p.name] == []
    assert all(cache.get(f"k{n}") == _entry(n) for n in range(22))  # every entry kept
    cache.close()
    assert PhaseCache(tmp_path).stats().entries == 22


class _FullDisk(sqlite3.Connection):
    """A connection on a disk with no room: what SQLite says when WAL mode needs a file."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        if sql.startswith("PRAGMA journal_mode"):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


def test_opening_a_healthy_cache_on_a_full_disk_moves_nothing_and_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = PhaseCache(tmp_path)
    for n in range(22):
        cache.put(f"k{n}", _entry(n))
    cache.close()
    real = sqlite3.connect
    monkeypatch.setattr(
        "reporting.compiler.cache.sqlite3.connect",
        lambda *a, **k: real(*a, **k) if k.get("uri") else real(*a, factory=_FullDisk, **k),
    )
    with caplog.at_level(logging.WARNING, logger="reporting"):
        reopened = PhaseCache(tmp_path)
        reopened.put("new", _entry(99))
    assert reopened.get("k3") == _entry(3) and reopened.get("new") is None
    assert [r.getMessage() for r in caplog.records if "moved to" in r.getMessage()] == []
    assert sum("cannot be written" in r.getMessage() for r in caplog.records) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("cache.sqlite3")) in (
        ["cache.sqlite3"],
        ["cache.sqlite3", "cache.sqlite3-shm", "cache.sqlite3-wal"],
    )


def test_a_cache_another_process_is_still_creating_is_ours(tmp_path: Path) -> None:
    # Two workers opening a new cache at once: one may see the table (and the index SQLite
    # makes for its key) before the other has stamped the application id.
    db = sqlite3.connect(tmp_path / CACHE_FILE)
    db.execute(
        "CREATE TABLE results (key TEXT PRIMARY KEY, text TEXT NOT NULL, input_tokens INTEGER "
        "NOT NULL, output_tokens INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, "
        "created REAL NOT NULL)"
    )
    db.commit()
    db.close()
    cache = PhaseCache(tmp_path)
    cache.put("k", _entry(1))
    assert cache.get("k") == _entry(1)
