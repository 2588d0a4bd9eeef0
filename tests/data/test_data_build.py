"""Reports over data, end to end through the CLI against the loopback servers."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from loopback import OllamaServer, OpenAIServer, last_user_text
from typer.testing import CliRunner

from reporting.cli import app
from reporting.observe.recheck import split_report
from reporting.outline.loader import load_outline

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def kpis(tmp_path: Path) -> Path:
    """The payments example and its data, copied where a test may change them."""
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    (tmp_path / "outlines").mkdir()
    shutil.copy(EXAMPLES / "outlines" / "payments-kpis.yaml", tmp_path / "outlines")
    return tmp_path / "outlines" / "payments-kpis.yaml"


def build(*args: str) -> Any:
    """`report build …` as a user runs it."""
    return runner.invoke(app, ["build", *args], catch_exceptions=False)


def prompts(*servers: OpenAIServer | OllamaServer) -> list[str]:
    """The last user message of every chat request the servers received."""
    return [last_user_text(body) for server in servers for body in server.chat_bodies]


def test_a_data_report_has_its_tables_charts_and_record(
    hybrid_env: pytest.MonkeyPatch,
    kpis: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    out = tmp_path / "out"
    result = build(str(kpis), "--out", str(out))
    assert result.exit_code == 0, result.output
    markdown = (out / "payments-kpis.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Payments KPIs — EU, 2026Q3\n")
    assert "## 2 Volume and latency in EU" in markdown
    assert "Table: Monthly authorizations and p99 latency (ms), EU 2026Q3" in markdown
    assert "2,019,565" in markdown or "| 2026-07 |" in markdown  # a formatted row of the table
    charts = sorted(p.name for p in (out / "payments-kpis.files").iterdir())
    assert len(charts) == 3 and all(name.endswith(".png") for name in charts)
    assert "payments-kpis.files/" in markdown

    manifest = json.loads((out / "payments-kpis.run.json").read_text(encoding="utf-8"))
    data = manifest["data"]
    assert data["params"] == {"region": "EU", "quarter": "2026Q3"}
    assert set(data["files"]) == {"payments", "incidents"}
    queries = {query["section"]: query for query in data["queries"]}
    assert queries["2"]["rows"] == 3 and queries["2"]["columns"] == [
        "month",
        "authorizations",
        "p99_ms",
    ]
    assert queries["5"]["rows"] == 3  # three regions
    # The model is given each section's figures: the Volume section's prompts hold its rows.
    writing = 'section "Volume and latency in EU"'
    given = [p for p in prompts(openai_server, ollama_server) if writing in p]
    assert given and all("Data for this section" in p for p in given)


def test_params_name_the_files_and_fill_the_text(
    hybrid_env: pytest.MonkeyPatch, kpis: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = build(str(kpis), "--out", str(out), "--param", "region=US")
    assert result.exit_code == 0, result.output
    markdown = (out / "payments-kpis--region=US.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Payments KPIs — US, 2026Q3\n")
    assert (out / "payments-kpis--region=US.files").is_dir()
    assert not (out / "payments-kpis.md").exists()


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("region=MARS", "region"),
        ("regoin=US", "regoin"),
        ("quarter=Q3-2026", "quarter"),
        ("region", "NAME=VALUE"),
    ],
)
def test_a_bad_param_is_exit_2_before_any_call(
    hybrid_env: pytest.MonkeyPatch,
    kpis: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    param: str,
    message: str,
) -> None:
    out = tmp_path / "out"
    result = build(str(kpis), "--out", str(out), "--param", param)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert openai_server.count == ollama_server.count == 0
    assert not out.exists() or not any(out.glob("payments-kpis*"))


def test_a_sql_error_names_the_query_and_calls_nothing(
    hybrid_env: pytest.MonkeyPatch, kpis: Path, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    text = kpis.read_text(encoding="utf-8").replace("select month, approval_rate_pct", "selec x")
    kpis.write_text(text, encoding="utf-8")
    result = build(str(kpis), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert 'sections[3] "Approval rate".query' in result.stderr
    assert openai_server.count == 0


def _change_p99(data: Path, month: str, region: str, value: int) -> None:
    path = data / "payments.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for row in rows:
        if row[0] == month and row[2] == region:
            row[5] = str(value)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_new_data_reruns_only_the_sections_whose_results_changed(
    hybrid_env: pytest.MonkeyPatch,
    kpis: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    out = tmp_path / "out"
    assert build(str(kpis), "--out", str(out)).exit_code == 0
    before = json.loads((out / "payments-kpis.run.json").read_text(encoding="utf-8"))
    first = openai_server.count + ollama_server.count

    # A late correction of August's EU p99 changes the Summary (its max) and section 2 only.
    _change_p99(tmp_path / "data", "2026-08", "EU", 999)
    plan = runner.invoke(app, ["plan", str(kpis), "--out", str(out)], catch_exceptions=False)
    assert plan.exit_code == 0, plan.output
    assert "section(s) 1, 2 will be written again" in plan.stdout

    assert build(str(kpis), "--out", str(out)).exit_code == 0
    after = json.loads((out / "payments-kpis.run.json").read_text(encoding="utf-8"))
    rerun = {call["section"] for call in after["calls"] if not call["cached"]}
    # The two sections (and the abstract, had their new texts differed: the loopback's do not).
    assert {"1", "2"} <= rerun <= {"1", "2", None}
    assert 0 < openai_server.count + ollama_server.count - first < first
    assert before["data"]["files"]["payments"] != after["data"]["files"]["payments"]


def test_batch_builds_one_report_per_row(
    hybrid_env: pytest.MonkeyPatch, kpis: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    runs = tmp_path / "data" / "payments-runs.csv"
    result = runner.invoke(
        app, ["batch", str(kpis), "--params", str(runs), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    for region in ("EU", "US", "APAC"):
        stem = f"payments-kpis--region={region}--quarter=2026Q3"
        assert (
            (out / f"{stem}.md")
            .read_text(encoding="utf-8")
            .startswith(f"# Payments KPIs — {region}, 2026Q3\n")
        )
        assert len(list((out / f"{stem}.files").glob("*.png"))) == 3
    assert "3 written, 0 failed, 0 invalid" in result.stdout


def test_a_params_file_with_a_bad_row_is_exit_2(
    hybrid_env: pytest.MonkeyPatch, kpis: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.csv"
    runs.write_text("region,quarter\nEU\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(kpis), "--params", str(runs)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "line 2 has 1 values" in result.stderr


def test_report_check_reads_the_prose_not_the_tables(
    hybrid_env: pytest.MonkeyPatch, kpis: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert build(str(kpis), "--out", str(out), "--param", "region=US").exit_code == 0
    result = runner.invoke(
        app,
        ["check", str(kpis), "--out", str(out), "--param", "region=US", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 3), result.output
    checked = json.loads(result.stdout)
    assert checked["sections"] == 6
    # The loopback's prose holds no figure, so a facts finding could only come from a table.
    facts = [
        c for c in checked["calls"] if not c["checks"].get("facts", {"passed": True})["passed"]
    ]
    assert facts == []
    markdown = (out / "payments-kpis--region=US.md").read_text(encoding="utf-8")
    text = split_report(markdown, load_outline(kpis), kpis)
    assert "Table:" in markdown and "Table:" not in text.bodies["2"]
    assert ".png" not in text.bodies["3"] and text.bodies["3"].startswith("Reply to")
