"""The planted API key appears in no output, log line, file, archive member or error message."""

from __future__ import annotations

import html as html_module
import json
import logging
import shutil
import threading
import traceback
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PLANTED_KEY, report_files
from docx import Document
from docx.oxml.ns import qn
from loopback import Fault, OllamaServer, OpenAIServer, always, default_reply, refused_url
from pypdf import PdfReader
from typer.testing import CliRunner, Result

from reporting.build import build_report
from reporting.cli import app
from reporting.errors import GenerationError
from reporting.logs import redact
from reporting.settings import load_settings

runner = CliRunner()

# The key, and its distinctive part in case a prefix is stripped on the way.
NEEDLES = (PLANTED_KEY, PLANTED_KEY.removeprefix("sk-"))
ECHO = Fault.http(401, message=f"Incorrect API key provided: {PLANTED_KEY}")


def _leaks(text: str | bytes) -> list[str]:
    """The needles found in a text or in raw bytes."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    return [needle for needle in NEEDLES if needle.encode() in data]


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every member of a zip archive (a DOCX), uncompressed."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            yield name, archive.read(name)


def _assert_no_key_in_tree(root: Path) -> list[Path]:
    """No file under root holds the key; DOCX files are checked member by member."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        assert not _leaks(path.read_bytes()), path
        if path.suffix == ".docx":
            for name, data in _members(path):
                assert not _leaks(data), f"{path}!{name}"
    return files


def _assert_clean(result: Result) -> None:
    assert not _leaks(result.stdout), result.stdout
    assert not _leaks(result.stderr), result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert not _leaks("".join(traceback.format_exception(result.exception)))


@pytest.fixture
def reporting_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> pytest.LogCaptureFixture:
    """Every log record of every logger at DEBUG, without the CLI's redacting handler."""
    logger = logging.getLogger("reporting")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="reporting")
    return caplog


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )


# --------------------------------------------------------------------------- (a) success


@pytest.mark.usefixtures("hybrid_env")
def test_successful_build_and_every_output_are_free_of_the_key(
    outline_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    assert "[Hybrid]" in result.stderr
    _assert_clean(result)
    files = _assert_no_key_in_tree(out)
    names = {p.name for p in files}
    assert {"fleet.md", "fleet.docx", "fleet.run.json", "cache.sqlite3"} <= names
    members = dict(_members(out / "fleet.docx"))
    assert "docProps/core.xml" in members and "word/document.xml" in members
    manifest = json.loads((out / "fleet.run.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["openai_api_key"] == "set"

    # Everything that reads those outputs back.
    for args in (
        ["stats", str(out), "--json"],
        ["stats", str(out), "--html", str(tmp_path / "dashboard.html")],
        ["stats", str(out)],
        ["cache", "stats", "--out", str(out), "--json"],
    ):
        read = runner.invoke(app, args, catch_exceptions=False)
        assert read.exit_code == 0, read.output
        _assert_clean(read)
    summary = runner.invoke(app, ["stats", str(out), "--json"], catch_exceptions=False)
    assert json.loads(summary.stdout)["reports"] == 1
    dashboard = (tmp_path / "dashboard.html").read_bytes()
    assert dashboard and not _leaks(dashboard)


def test_cache_and_its_wal_hold_no_key_during_the_build(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    out, snapshot = tmp_path / "out", tmp_path / "snapshot"
    lock = threading.Lock()

    def reply(body: dict[str, Any]) -> str:
        # Mid-build, with results stored and the writer's connection open: copy the cache files.
        with lock:
            if openai_server.count >= 8 and not snapshot.exists():
                shutil.copytree(out / ".report_cache", snapshot)
        return default_reply(body)

    openai_server.reply = reply
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    copied = {p.name: p.read_bytes() for p in snapshot.iterdir()}
    assert copied.get("cache.sqlite3-wal"), sorted(copied)  # the WAL held the stored results
    assert b"deterministic loopback answer" in copied["cache.sqlite3-wal"]
    for name, data in copied.items():
        assert not _leaks(data), name
    _assert_no_key_in_tree(out)


# --------------------------------------------------------------------------- (b) failure


def test_failing_build_with_a_server_echoing_the_key_leaks_nothing(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    openai_server.faults = always(ECHO)
    ollama_server.faults = always(Fault.http(500))
    ollama_server.latency = 0.05  # the primary's 401s come first, and are logged
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.stderr
    assert openai_server.count > 0  # the echoing server was really asked
    assert "Error=HTTP 401: the provider refused the credentials" in result.stderr
    assert "***" in result.stderr  # redacted, not dropped
    _assert_clean(result)
    assert report_files(out) == []
    _assert_no_key_in_tree(out)


def test_batch_with_a_server_echoing_the_key_leaks_nothing(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    openai_server.faults = always(ECHO)
    ollama_server.faults = always(Fault.http(500))
    ollama_server.latency = 0.05
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["batch", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert "failed" in result.stdout
    _assert_clean(result)
    _assert_no_key_in_tree(out)


def test_echoed_key_is_redacted_in_a_build_that_falls_back(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.faults = always(ECHO)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    _assert_clean(result)
    _assert_no_key_in_tree(out)
    manifest = json.loads((out / "fleet.run.json").read_text(encoding="utf-8"))
    errors = [e for call in manifest["calls"] for e in call["errors"]]
    assert errors and all("***" in e for e in errors)


# --------------------------------------------------------------------------- (c) (d) commands


@pytest.mark.usefixtures("hybrid_env")
def test_doctor_shows_no_key(openai_server: OpenAIServer) -> None:
    result = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "verdict: a build can run on both providers" in result.stdout
    _assert_clean(result)
    openai_server.api_key = "sk-some-other-key-0000"  # the server now refuses ours
    refused = runner.invoke(app, ["doctor"], catch_exceptions=False)
    assert refused.exit_code == 0, refused.output
    assert "the API key was refused (HTTP 401)" in refused.stdout
    _assert_clean(refused)


@pytest.mark.usefixtures("hybrid_env")
def test_plan_json_shows_no_key(outline_file: Path) -> None:
    for args in (["plan", str(outline_file), "--json"], ["plan", str(outline_file)]):
        result = runner.invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        _assert_clean(result)
    planned = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    projected = json.loads(planned.stdout)
    assert len(projected["calls"]) == 28


# --------------------------------------------------------------------------- library use


@pytest.mark.usefixtures("hybrid_env")
def test_debug_logs_of_a_library_build_hold_no_key(
    outline_file: Path, tmp_path: Path, reporting_logs: pytest.LogCaptureFixture
) -> None:
    result = build_report(outline_file, tmp_path / "out", load_settings())
    assert result.markdown.exists()
    assert any("[Hybrid]" in r.getMessage() for r in reporting_logs.records)
    assert any(r.levelno == logging.DEBUG for r in reporting_logs.records)  # DEBUG is captured
    assert not _leaks(_log_text(reporting_logs))
    assert not _leaks(json.dumps(result.record))


def test_debug_logs_of_a_library_build_hold_no_echoed_key(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    reporting_logs: pytest.LogCaptureFixture,
) -> None:
    openai_server.faults = always(ECHO)
    result = build_report(outline_file, tmp_path / "out", load_settings())
    assert result.markdown.exists()
    assert any("Event=FALLBACK" in r.getMessage() for r in reporting_logs.records)
    assert not _leaks(_log_text(reporting_logs))


def test_build_result_record_holds_no_echoed_key(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.faults = always(ECHO)
    result = build_report(outline_file, tmp_path / "out", load_settings())
    assert not _leaks((tmp_path / "out" / "fleet.run.json").read_bytes())
    assert not _leaks(json.dumps(result.record))


def test_generation_error_message_holds_no_echoed_key(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    openai_server.faults = always(ECHO)
    ollama_server.faults = always(Fault.http(500))
    ollama_server.latency = 0.05
    with pytest.raises(GenerationError) as caught:
        build_report(outline_file, tmp_path / "out", load_settings())
    assert "HTTP 401" in str(caught.value) or "HTTP 500" in str(caught.value)
    assert not _leaks(str(caught.value))
    assert not _leaks(repr(caught.value))
    assert not _leaks("".join(traceback.format_exception(caught.value)))


# --------------------------------------------------------------------------- credentials in URLs

URL_PASSWORD = "pw-7c1e93d0b5"


def test_credentials_in_the_base_url_are_secrets_and_hidden_in_the_snapshot() -> None:
    settings = load_settings(
        _env_file=None,
        openai_api_key=PLANTED_KEY,
        openai_base_url=f"https://alice:{URL_PASSWORD}@proxy.example:8443/v1",
    )
    assert settings.secrets[0] == PLANTED_KEY
    assert f"alice:{URL_PASSWORD}" in settings.secrets and URL_PASSWORD in settings.secrets
    snapshot = settings.snapshot()
    assert snapshot["openai_base_url"] == "https://***@proxy.example:8443/v1"
    assert URL_PASSWORD not in json.dumps(snapshot) and "alice" not in json.dumps(snapshot)
    shown = redact(f"cannot reach https://alice:{URL_PASSWORD}@proxy.example", settings.secrets)
    assert shown == "cannot reach https://***@proxy.example"
    assert redact(f"echoed {URL_PASSWORD}", settings.secrets) == "echoed ***"


@pytest.mark.parametrize(
    ("url", "secrets", "shown"),
    [
        ("https://api.example/v1", [], "https://api.example/v1"),
        ("https://api.example/v1?to=a@b", [], "https://api.example/v1?to=a@b"),
        ("https://token-5f2a9c@api.example/v1", ["token-5f2a9c"], "https://***@api.example/v1"),
        (
            "https://bob:p%40ss-word@api.example",
            ["bob:p%40ss-word", "bob:p@ss-word", "p%40ss-word", "p@ss-word"],
            "https://***@api.example",
        ),
    ],
)
def test_base_url_userinfo_variants(url: str, secrets: list[str], shown: str) -> None:
    settings = load_settings(_env_file=None, openai_base_url=url)
    assert settings.secrets == secrets
    assert settings.snapshot()["openai_base_url"] == shown


def test_a_build_shows_no_password_of_the_base_url(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path, tmp_path: Path
) -> None:
    # Nothing listens there: the PREFLIGHT line names the URL, and the build goes local.
    unreachable = refused_url("/v1").replace("http://", f"http://alice:{URL_PASSWORD}@")
    hybrid_env.setenv("OPENAI_BASE_URL", unreachable)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    preflight = [line for line in result.stderr.splitlines() if "Event=PREFLIGHT" in line]
    assert any("http://***@127.0.0.1:" in line for line in preflight), preflight
    assert URL_PASSWORD not in result.stdout + result.stderr
    manifest = json.loads((out / "fleet.run.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["openai_base_url"].startswith("http://***@127.0.0.1:")
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        assert URL_PASSWORD.encode() not in path.read_bytes(), path


@pytest.mark.usefixtures("hybrid_env")
def test_a_key_echoed_in_encoded_forms_reaches_no_format(
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    # Each form is the key itself to pandoc, a browser or Word: escaped, an entity, a comment.
    escaped = PLANTED_KEY.replace("-", "\\-")
    entity = PLANTED_KEY.replace("-", "&#45;", 1)
    commented = PLANTED_KEY[:8] + "<!-- x -->" + PLANTED_KEY[8:]
    reply = f"Key {escaped} then {entity} and {commented} [1]."
    openai_server.reply = ollama_server.reply = lambda body: reply
    out = tmp_path / "out"
    args = ["build", str(outline_file), "--out", str(out), "--format", "md,docx,pdf,html"]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    _assert_clean(result)
    _assert_no_key_in_tree(out)
    pdf = " ".join(page.extract_text() for page in PdfReader(out / "fleet.pdf").pages)
    assert not _leaks(pdf)
    text = "".join(t.text or "" for t in Document(str(out / "fleet.docx")).element.iter(qn("w:t")))
    assert not _leaks(text) and "Key *** then *** and ***" in text
    html = (out / "fleet.html").read_text(encoding="utf-8")
    assert not _leaks(html_module.unescape(html))
    sent = openai_server.count + ollama_server.count
    again = runner.invoke(app, args, catch_exceptions=False)
    assert again.exit_code == 0, again.stderr
    assert openai_server.count + ollama_server.count == sent  # an unchanged rebuild: all cached
