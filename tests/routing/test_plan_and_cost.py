"""`report plan` predicts the build, sends nothing; prices, cost and the all-cloud baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import read_manifest
from loopback import OllamaServer, OpenAIServer
from typer.testing import CliRunner

from reporting.build import BuildSummary, build_report
from reporting.cli import app
from reporting.errors import ConfigError
from reporting.routing.pricing import Price, PriceTable
from reporting.settings import load_settings

runner = CliRunner()


@pytest.mark.parametrize(
    "env",
    [
        {},  # the matrix as it is
        {"MAX_CLOUD_CALLS": "4"},  # COST_LIMIT
        {"VRA_HYBRID_MODE": "false", "MAX_CLOUD_CALLS": "40"},
        {"OPENAI_API_KEY": ""},  # NO_PRIMARY
        {"PRIMARY_MODEL": "gpt-nonexistent"},  # UNAVAILABLE: configured, not offered
        {"PRIMARY_PROVIDER": "local"},  # abstract policy with a local primary
    ],
)
def test_the_build_follows_the_plan_exactly(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    env: dict[str, str],
) -> None:
    for name, value in env.items():
        hybrid_env.setenv(name, value)
    planned = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    assert planned.exit_code == 0, planned.output
    assert openai_server.count == ollama_server.count == 0  # planning sends no model call
    plan = json.loads(planned.stdout)
    built = runner.invoke(
        app, ["build", str(outline_file), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert built.exit_code == 0, built.output
    manifest = read_manifest(tmp_path / "out")
    keys = ("section", "phase", "role", "provider", "model", "reason", "rule")
    assert [{k: c[k] for k in keys} for c in plan["calls"]] == [
        {k: c[k] for k in keys} for c in manifest["calls"]
    ]
    assert plan["cloud_calls"] == manifest["metrics"]["cloud_calls"] == openai_server.count


def test_plan_json_has_projected_tokens_and_cost(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path
) -> None:
    result = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    plan = json.loads(result.stdout)
    assert all(c["projected_input_tokens"] > 0 for c in plan["calls"])
    local = [c for c in plan["calls"] if not c["cloud"]]
    assert local and all(c["projected_cost_usd"] == 0 for c in local)
    totals = plan["projected"]
    assert totals["cost_usd"] == pytest.approx(
        sum(c["projected_cost_usd"] for c in plan["calls"]), abs=1e-4
    )
    assert totals["baseline_usd"] > totals["cost_usd"] > 0
    human = runner.invoke(app, ["plan", str(outline_file)], catch_exceptions=False)
    assert "all-cloud (saving $" in human.stdout
    assert "\x1b[" not in human.output  # plain off a terminal


def test_price_table_defaults_overrides_and_local_models(tmp_path: Path) -> None:
    table = PriceTable(load_settings())
    assert table.price("openai", "gpt-4o") == Price(2.50, 10.00)
    assert table.price("openai", "gpt-4o-2024-08-06") == Price(2.50, 10.00)  # a dated snapshot
    assert table.price("local", "llama3:8b") == Price(0, 0)
    assert table.price("embedded", "smollm2") == Price(0, 0)
    assert table.price("openai", "my-finetune") is None
    assert table.cost("openai", "gpt-4o", 1_000_000, 100_000) == pytest.approx(3.50)
    prices = tmp_path / "prices.yaml"
    prices.write_text("gpt-4o: {input: 1.0, output: 2.0}\nmy-finetune: {input: 3, output: 6}\n")
    custom = PriceTable(load_settings(prices_file=prices))
    assert custom.cost("openai", "gpt-4o", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert custom.price("openai", "my-finetune") == Price(3, 6)
    inline = PriceTable(load_settings(prices='{"gpt-4o": {"input": 5, "output": 5}}'))
    assert inline.price("openai", "gpt-4o") == Price(5, 5)


@pytest.mark.parametrize(
    ("content", "message"),
    [("gpt-4o: 3\n", "expected {input"), ("[1, 2]\n", "expected a mapping")],
)
def test_bad_prices_file_is_a_config_error(tmp_path: Path, content: str, message: str) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(content)
    with pytest.raises(ConfigError, match=message):
        PriceTable(load_settings(prices_file=prices))


@pytest.mark.usefixtures("hybrid_env")
def test_manifest_cost_baseline_and_saving_add_up(outline_file: Path, tmp_path: Path) -> None:
    built = runner.invoke(
        app, ["build", str(outline_file), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert built.exit_code == 0, built.output
    manifest = read_manifest(tmp_path / "out")
    metrics, calls = manifest["metrics"], manifest["calls"]
    price = Price(2.50, 10.00)
    for call in calls:
        expected = price.cost(call["input_tokens"], call["output_tokens"]) if call["cloud"] else 0
        assert call["cost_usd"] == pytest.approx(expected, abs=1e-6)
        assert call["baseline_usd"] == pytest.approx(
            price.cost(call["input_tokens"], call["output_tokens"]), abs=1e-6
        )
    assert metrics["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in calls), abs=1e-5)
    assert metrics["saving_usd"] == pytest.approx(
        metrics["baseline_usd"] - metrics["cost_usd"], abs=1e-5
    )
    assert metrics["saving_usd"] > 0
    assert sum(p["calls"] for p in metrics["by_phase"].values()) == len(calls)
    assert set(manifest["versions"]) >= {"reporting", "langchain-core", "openai"}
    assert manifest["settings"]["openai_api_key"] == "set"


@pytest.mark.usefixtures("hybrid_env")
def test_build_summary_agrees_with_the_manifest(outline_file: Path, tmp_path: Path) -> None:
    """`BuildResult.summary` and the closing line of `report build` match the manifest."""
    result = build_report(outline_file, tmp_path / "lib", load_settings())
    metrics = result.record["metrics"]
    assert result.summary == BuildSummary(
        steps=metrics["steps"],
        cache_hits=metrics["cache_hits"],
        cloud_calls=metrics["cloud_calls"],
        max_cloud_calls=metrics["max_cloud_calls"],
        fallbacks=sum(metrics["fallbacks"].values()),
        duration_s=result.record["duration_s"],
    )
    out = tmp_path / "out"
    for _ in range(2):  # the second build takes every step from the cache
        built = runner.invoke(
            app, ["build", str(outline_file), "--out", str(out)], catch_exceptions=False
        )
        assert built.exit_code == 0, built.output
    manifest = read_manifest(out)
    m = manifest["metrics"]
    assert m["cache_hits"] == m["steps"] > 0
    assert (
        f"{m['steps']} steps ({m['cache_hits']} from cache), {m['cloud_calls']} cloud calls of "
        f"{m['max_cloud_calls']} allowed, {sum(m['fallbacks'].values())} fallbacks, "
        f"{manifest['duration_s']:.1f} s"
    ) in built.stdout


@pytest.mark.usefixtures("hybrid_env")
def test_stats_over_runs_matches_the_servers(
    outline_file: Path, tmp_path: Path, openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    for run in range(3):
        out = tmp_path / "runs" / f"run{run}"
        built = runner.invoke(
            app,
            ["build", str(outline_file), "--out", str(out), "--no-cache"],
            catch_exceptions=False,
        )
        assert built.exit_code == 0, built.output
    result = runner.invoke(app, ["stats", str(tmp_path / "runs"), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["reports"] == 3
    assert stats["cloud_calls"] == openai_server.count
    assert stats["requests"] == openai_server.count + ollama_server.count
    assert stats["providers"]["openai"]["requests"] == openai_server.count
    human = runner.invoke(app, ["stats", str(tmp_path / "runs")], catch_exceptions=False)
    assert "3 reports" in human.stdout
    assert "\x1b[" not in human.output
