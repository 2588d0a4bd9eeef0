"""`report stats` figures on hand-made manifests, and the HTML dashboard drawn from them."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reporting.compare.recommend import Recommendation
from reporting.observe.dashboard import money, nice_step, render_dashboard, x_tick_indices
from reporting.observe.stats import (
    CloudCallsPerReport,
    Latency,
    LocalShare,
    PhaseShare,
    PooledComparisons,
    ProviderErrors,
    StatsSummary,
    aggregate,
    load_manifests,
)

GENERATED_AT = dt.datetime(2026, 3, 13, 9, 0, tzinfo=dt.UTC)
EVIL_TITLE = "Beta <script>alert(1)</script> & co"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--enable-logging=stderr",
]


def call(
    phase: str,
    role: str,
    provider: str,
    *,
    latency: float = 1.0,
    output_tokens: int = 100,
    cached: bool = False,
    requests: dict[str, int] | None = None,
    failures: dict[str, int] | None = None,
    fallback: str | None = None,
) -> dict[str, Any]:
    """One `calls` record shaped like manifest.call_record; openai is the cloud provider."""
    cloud = provider == "openai"
    sent = {} if cached else (requests if requests is not None else {provider: 1})
    tokens_in = 0 if cached else 400
    tokens_out = 0 if cached else output_tokens
    return {
        "section": "1" if phase != "ABSTRACT" else None,
        "section_type": "intro",
        "phase": phase,
        "role": role,
        "provider": provider,
        "model": "gpt-4o" if cloud else "llama3:8b",
        "cloud": cloud,
        "planned_role": "primary" if fallback else role,
        "reason": "MATRIX",
        "rule": "hand-made",
        "cached": cached,
        "attempts": sum(sent.values()),
        "requests": sent,
        "failures": failures or {},
        "started_s": 0.0,
        "latency_s": 0.0 if cached else latency,
        "elapsed_s": 0.0 if cached else latency,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cost_usd": 0.0,
        "baseline_usd": 0.0,
        "fallback": fallback,
        "errors": [],
    }


def manifest(
    name: str,
    title: str,
    started_at: str,
    calls: list[dict[str, Any]],
    *,
    cloud_calls: int,
    max_cloud_calls: int,
    cost: float,
    baseline: float,
) -> dict[str, Any]:
    """A run manifest shaped like manifest.build_manifest, with the given totals."""
    fallbacks: dict[str, int] = {}
    for record in calls:
        if record["fallback"]:
            fallbacks[record["fallback"]] = fallbacks.get(record["fallback"], 0) + 1
    requests: dict[str, int] = {}
    for record in calls:
        for provider, count in record["requests"].items():
            requests[provider] = requests.get(provider, 0) + count
    started = dt.datetime.fromisoformat(started_at)
    return {
        "manifest_version": 2,
        "reporting_version": "0.1.0",
        "versions": {"reporting": "0.1.0", "python": "3.11.7"},
        "outline": {
            "path": f"outlines/{name}.yaml",
            "sha256": "0" * 64,
            "title": title,
            "sections": 3,
        },
        "started_at": started_at,
        "finished_at": (started + dt.timedelta(minutes=2)).isoformat(),
        "duration_s": 120.0,
        "settings": {},
        "providers": {
            "primary": {"provider": "openai", "model": "gpt-4o", "cloud": True},
            "secondary": {"provider": "ollama", "model": "llama3:8b", "cloud": False},
        },
        "outputs": {"markdown": f"{name}.md", "manifest": f"{name}.run.json"},
        "calls": calls,
        "metrics": {
            "cloud_calls": cloud_calls,
            "requests": requests,
            "retries": 0,
            "fallbacks": fallbacks,
            "circuit_open": False,
            "cache_hits": sum(1 for c in calls if c["cached"]),
            "max_cloud_calls": max_cloud_calls,
            "planned_cloud_calls": cloud_calls,
            "steps": len(calls),
            "local_calls": sum(1 for c in calls if not c["cloud"] and not c["cached"]),
            "input_tokens": sum(c["input_tokens"] for c in calls),
            "output_tokens": sum(c["output_tokens"] for c in calls),
            "cost_usd": cost,
            "baseline_usd": baseline,
            "saving_usd": round(baseline - cost, 6),
            "unpriced_models": [],
            "by_provider": {},
            "by_phase": {},
        },
    }


def hand_made() -> list[dict[str, Any]]:
    """Four runs whose totals are worked out by hand in the tests below."""
    alpha = manifest(
        "alpha",
        "Alpha review",
        "2026-03-02T09:00:00+00:00",
        [
            call("DRAFT", "primary", "openai", latency=2.0, output_tokens=50),
            call("EXPAND", "secondary", "ollama", latency=4.0, output_tokens=150),
            call(
                "REFINE",
                "primary",
                "openai",
                latency=3.0,
                output_tokens=100,
                requests={"openai": 2},
                failures={"openai": 1},
            ),
            call(
                "ABSTRACT",
                "secondary",
                "ollama",
                latency=5.0,
                output_tokens=100,
                requests={"openai": 1, "ollama": 1},
                failures={"openai": 1},
                fallback="ERROR",
            ),
        ],
        cloud_calls=4,  # over its own limit of 3
        max_cloud_calls=3,
        cost=0.30,
        baseline=0.50,
    )
    beta = manifest(
        "beta",
        EVIL_TITLE,
        "2026-03-05T14:30:00+00:00",
        [
            call("DRAFT", "primary", "openai", cached=True),
            call("EXPAND", "secondary", "ollama", latency=6.0, output_tokens=250),
            call(
                "REFINE",
                "secondary",
                "ollama",
                latency=8.0,
                output_tokens=120,
                fallback="COST_LIMIT",
            ),
        ],
        cloud_calls=0,
        max_cloud_calls=15,
        cost=0.0,
        baseline=0.25,
    )
    gamma = manifest(
        "gamma",
        "Gamma report",
        "2026-03-09T08:15:00+00:00",
        [
            call("DRAFT", "primary", "openai", latency=1.0, output_tokens=60),
            call("DRAFT", "secondary", "ollama", latency=2.0, output_tokens=40),
            call("EXPAND", "secondary", "ollama", cached=True),
            call("ABSTRACT", "primary", "openai", latency=4.0, output_tokens=150),
        ],
        cloud_calls=2,
        max_cloud_calls=15,
        cost=0.20,
        baseline=0.35,
    )
    delta = manifest(
        "delta",
        "Delta report",
        "2026-03-12T16:45:00+00:00",
        [call("DRAFT", "primary", "openai", latency=s) for s in (1.0, 3.0, 5.0, 10.0)],
        cloud_calls=4,
        max_cloud_calls=15,
        cost=0.40,
        baseline=0.40,
    )
    return [alpha, beta, gamma, delta]


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    """The hand-made manifests as `*.run.json` files, in shuffled order, plus one stray file."""
    folder = tmp_path / "reports_out"
    (folder / "nested").mkdir(parents=True)
    for index, data in enumerate(reversed(hand_made())):
        where = folder / "nested" if index % 2 else folder
        (where / f"{Path(data['outline']['path']).stem}.run.json").write_text(
            json.dumps(data, indent=2), encoding="utf-8"
        )
    (folder / "notes.run.json").write_text('{"hello": "not a manifest"}', encoding="utf-8")
    return folder


@pytest.fixture
def stats(runs_dir: Path) -> StatsSummary:
    """`aggregate` over the hand-made manifests, read back from disk."""
    manifests, skipped = load_manifests([runs_dir])
    assert len(manifests) == 4
    assert skipped == [f"{runs_dir / 'notes.run.json'}: not a run manifest"]
    return aggregate(manifests)


def test_totals_and_local_share(stats: StatsSummary) -> None:
    """Calls, cache hits, requests, and the local share of generated calls and output tokens."""
    assert stats.reports == 4
    assert stats.calls == 15
    assert stats.cache_hits == 2
    assert stats.requests == 15  # openai 10 (one retry, one failed before a fallback), ollama 5
    assert stats.cloud_calls == 10
    # 13 generated calls, 5 of them local; 1420 generated output tokens, 660 of them local.
    assert stats.local_share == LocalShare(
        calls=round(5 / 13, 4), output_tokens=round(660 / 1420, 4)
    )
    assert stats.local_share == LocalShare(calls=0.3846, output_tokens=0.4648)


def test_providers_fallbacks_and_limits(stats: StatsSummary) -> None:
    """Error rate per provider, fallbacks by reason, cloud calls per report against the limit."""
    assert stats.providers == {
        "ollama": ProviderErrors(requests=5, failures=0, error_rate=0.0),
        "openai": ProviderErrors(requests=10, failures=2, error_rate=0.2),
    }
    assert stats.fallbacks == {"COST_LIMIT": 1, "ERROR": 1}
    assert stats.cloud_calls_per_report == CloudCallsPerReport(
        mean=2.5, max=4, limit=15, over_limit=1
    )


def test_latency_percentiles(stats: StatsSummary) -> None:
    """p50/p95 per provider and phase over generated calls only (cache hits left out)."""
    latency = {(r.provider, r.phase): r for r in stats.latency}
    assert list(latency) == sorted(latency)
    assert set(latency) == {
        ("ollama", "ABSTRACT"),
        ("ollama", "DRAFT"),
        ("ollama", "EXPAND"),
        ("ollama", "REFINE"),
        ("openai", "ABSTRACT"),
        ("openai", "DRAFT"),
        ("openai", "REFINE"),
    }
    # openai DRAFT: 1, 1, 2, 3, 5, 10 (beta's cached DRAFT is not a sample). Nearest rank:
    # p50 is the 3rd value (ceil(0.5 * 6)), p95 the 6th (ceil(0.95 * 6)).
    assert latency[("openai", "DRAFT")] == Latency(
        provider="openai", phase="DRAFT", calls=6, p50_s=2.0, p95_s=10.0
    )
    # ollama EXPAND: 4, 6 (gamma's cached EXPAND is not a sample).
    assert latency[("ollama", "EXPAND")].calls == 2
    assert latency[("ollama", "EXPAND")].p50_s == 4.0  # nearest rank: the 1st of 2
    assert latency[("ollama", "EXPAND")].p95_s == 6.0
    # One sample: both percentiles are that sample.
    assert latency[("ollama", "REFINE")] == Latency(
        provider="ollama", phase="REFINE", calls=1, p50_s=8.0, p95_s=8.0
    )


def test_cost_phase_share_and_runs(stats: StatsSummary) -> None:
    """Cost against the all-cloud baseline, calls per phase and role, runs in start order."""
    assert stats.cost == pytest.approx(0.90)
    assert stats.baseline == pytest.approx(1.50)
    assert stats.saving == pytest.approx(0.60)
    assert stats.saving_share == 0.4
    assert stats.phase_share == [
        PhaseShare(phase="DRAFT", primary=6, secondary=1, cached=1),
        PhaseShare(phase="EXPAND", primary=0, secondary=2, cached=1),
        PhaseShare(phase="REFINE", primary=1, secondary=1, cached=0),
        PhaseShare(phase="ABSTRACT", primary=1, secondary=1, cached=0),
    ]
    runs = stats.runs
    assert [r.title for r in runs] == [
        "Alpha review",
        EVIL_TITLE,
        "Gamma report",
        "Delta report",
    ]
    assert [r.calls for r in runs] == [4, 3, 4, 4]
    assert [r.fallbacks for r in runs] == [1, 1, 0, 0]
    assert [r.saving for r in runs] == pytest.approx([0.2, 0.25, 0.15, 0.0])
    assert runs[0].outline == "outlines/alpha.yaml"
    assert runs[0].manifest.endswith("alpha.run.json")


def test_json_keeps_every_key_in_order(stats: StatsSummary) -> None:
    """`to_json()` (what `report stats --json` prints) is plain JSON with the documented keys."""
    data = stats.to_json()
    assert list(data) == [
        "reports",
        "calls",
        "requests",
        "cloud_calls",
        "cache_hits",
        "cloud_calls_per_report",
        "local_share",
        "fallbacks",
        "providers",
        "latency",
        "phase_share",
        "unpriced_models",
        "cost",
        "baseline",
        "saving",
        "saving_share",
        "cloud_primary_runs",
        "quality",
        "runs",
    ]
    assert json.loads(json.dumps(data)) == data
    assert data["cloud_calls_per_report"] == {"mean": 2.5, "max": 4, "limit": 15, "over_limit": 1}
    assert data["providers"]["openai"] == {"requests": 10, "failures": 2, "error_rate": 0.2}
    assert data["phase_share"][0] == {"phase": "DRAFT", "primary": 6, "secondary": 1, "cached": 1}
    assert list(data["runs"][0]) == [
        "outline",
        "title",
        "started_at",
        "calls",
        "cloud_calls",
        "max_cloud_calls",
        "fallbacks",
        "cost",
        "baseline",
        "saving",
        "quality_passed",
        "manifest",
        "cloud_primary",
        "duration_s",
        "report",
    ]


def test_dashboard_shows_the_figures(stats: StatsSummary) -> None:
    """Period, KPI tiles, chart labels, error rates, latency and runs, formatted."""
    page = render_dashboard(stats, generated_at=GENERATED_AT)
    text = re.sub(r"\s+", " ", page)
    for expected in [
        "2 Mar 2026 \N{EN DASH} 12 Mar 2026</strong> · 4 reports",
        "Generated 2026-03-13 09:00 UTC",
        '<div class="v">15</div>',  # calls
        "2 from cache · 15 requests",
        "38.5%",  # local share of calls
        "46.5%",  # local share of output tokens
        "2.5 <small>mean</small>",
        "max 4 · limit 15",
        "1 run over limit",
        '<div class="v">$0.90</div>',
        '<div class="v">$1.50</div>',
        '<div class="v">$0.60</div>',
        "40.0% of the baseline",
        "DRAFT · primary: 6 calls (75.0%)",
        "EXPAND · cached: 1 call (33.3%)",
        "8 calls",
        "COST_LIMIT",
        "6.7% of calls",  # one fallback of 15 calls
        "20.0%",
        "2 of 10 requests",
        "0 of 5 requests",
        "2.00 s",
        "10.00 s",
        "6.00 s",
        '<td class="r over">4 / 3</td>',
        "$0.30",
        "$0.25",
    ]:
        assert expected in text, expected
    assert "runs-capped" not in page
    # Latest run first in the table.
    table = text.split('id="runs"')[1]
    assert table.index("Delta report") < table.index("Gamma report") < table.index("Alpha review")


def test_dashboard_shows_pooled_routing_recommendations(stats: StatsSummary) -> None:
    """Recommendations pooled from `report compare`, with the file that adopts them."""
    assert 'id="compare"' not in render_dashboard(stats, generated_at=GENERATED_AT)
    move = Recommendation(
        phase="REFINE",
        section_type="results",
        current_role="primary",
        action="move to secondary",
        pairs=3,
        evidence="judge: secondary 2, primary 0, ties 1 <b>",
        saving_usd_per_report=0.012,
        primary_wins=0,
        secondary_wins=2,
        ties=1,
    )
    pooled = PooledComparisons(
        runs=2, pairs=3, recommendations=[move], routing_file="REFINE:\n  results: secondary\n"
    )
    page = render_dashboard(stats, generated_at=GENERATED_AT, compare=pooled)
    card = re.sub(r"\s+", " ", page.split('id="compare"')[1].split("</section>")[0])
    assert "pooled from 2 comparisons, 3 pairs" in card
    assert "<b>move to secondary</b>" in card and "$0.012" in card
    assert "ties 1 &lt;b&gt;" in card
    assert "<pre>REFINE: results: secondary </pre>" in card


def test_dashboard_is_self_contained(stats: StatsSummary) -> None:
    """No external URL, no script, no linked or imported resource: the page opens offline."""
    page = render_dashboard(stats, generated_at=GENERATED_AT).lower()
    for forbidden in ["http://", "https://", "src=", "<link", "<script", "@import", "url("]:
        assert forbidden not in page, forbidden
    assert page.count("<svg") >= 4
    assert "<style>" in page


def test_dashboard_escapes_user_data(stats: StatsSummary) -> None:
    """Titles and outline paths are text, never markup."""
    page = render_dashboard(stats, generated_at=GENERATED_AT)
    assert "<script>" not in page
    assert "Beta &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_dashboard_empty_state() -> None:
    """No manifest: a friendly explanation instead of empty charts."""
    page = render_dashboard(aggregate([]), generated_at=GENERATED_AT)
    assert "No run manifests found" in page
    assert "report stats --html" in page
    assert "<svg" not in page


def test_dashboard_single_run() -> None:
    """One run: one bar, one date, no range."""
    manifests = [hand_made()[2] | {"_path": "gamma.run.json"}]
    page = render_dashboard(aggregate(manifests), generated_at=GENERATED_AT)
    assert page.count('<g class="run">') == 1
    assert "9 Mar 2026</strong> · 1 report<" in page
    assert "no run over its limit" in page


def no_primary_run() -> dict[str, Any]:
    """A run built with no cloud primary configured: every step on the secondary, as planned."""
    calls = [call(phase, "secondary", "ollama") for phase in ("DRAFT", "EXPAND", "ABSTRACT")]
    for record in calls:
        record.update(reason="NO_PRIMARY", rule="OPENAI_API_KEY unset → secondary")
    run = manifest(
        "local",
        "Local only",
        "2026-03-12T10:00:00+00:00",
        calls,
        cloud_calls=0,
        max_cloud_calls=15,
        cost=0.0,
        baseline=0.0,
    )
    return run | {"_path": "local.run.json"}


def test_dashboard_shows_no_saving_when_no_run_had_a_cloud_primary() -> None:
    """Never a cloud option: no baseline, no saving, no fallback; the same as `report plan`."""
    stats = aggregate([no_primary_run()])
    assert (stats.cloud_primary_runs, stats.fallbacks) == (0, {})
    assert stats.runs[0].cloud_primary is False
    page = re.sub(r"\s+", " ", render_dashboard(stats, generated_at=GENERATED_AT))
    saving = page.split('id="kpi-saving"')[1].split("</div> </div>")[0]
    assert '<div class="v">—</div>' in saving and "nothing to save against" in saving
    assert "good" not in page.split('id="kpi-saving"')[0][-40:]  # not a green tile
    assert "no run had a cloud primary" in page
    assert "of the baseline" not in page
    assert "No fallback: every call ran on its planned provider." in page
    row = page.split('id="runs"')[1].split("</tr>")[1]
    assert row.count('<td class="r">—</td>') == 2  # baseline and saving: a dash, not $0
    assert "no cloud primary" in page  # the run's bar says why it has no saving


def test_dashboard_saving_counts_only_runs_with_a_cloud_primary() -> None:
    """Mixed runs: the KPI tiles show the cloud runs' saving; the local run's row shows dashes."""
    stats = aggregate([*(m | {"_path": f"{i}.run.json"} for i, m in enumerate(hand_made()))])
    mixed = aggregate(
        [*(m | {"_path": f"{i}.run.json"} for i, m in enumerate(hand_made())), no_primary_run()]
    )
    assert mixed.cloud_primary_runs == stats.cloud_primary_runs == 4
    assert (mixed.baseline, mixed.saving) == (stats.baseline, stats.saving)
    page = re.sub(r"\s+", " ", render_dashboard(mixed, generated_at=GENERATED_AT))
    assert "40.0% of the baseline" in page
    latest = page.split('id="runs"')[1].split("</tr>")[1]
    assert "Local only" in latest and latest.count('<td class="r">—</td>') == 2


def many_runs(count: int) -> list[dict[str, Any]]:
    """`count` daily runs shaped like the hand-made ones, already loaded."""
    template = hand_made()[2]
    start = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    runs = []
    for index in range(count):
        started = (start + dt.timedelta(days=index)).isoformat()
        name = f"run-{index:02d}"
        runs.append(
            template
            | {
                "started_at": started,
                "outline": {"path": f"outlines/{name}.yaml", "title": f"Report {index:02d}"},
                "_path": f"{name}.run.json",
            }
        )
    return runs


def test_dashboard_caps_the_runs_table() -> None:
    """60 runs: 60 bars in the chart, the 50 latest in the table, and a note saying so."""
    page = render_dashboard(aggregate(many_runs(60)), generated_at=GENERATED_AT)
    assert page.count('<g class="run">') == 60
    assert page.count('<td class="when">') == 50
    assert "Showing the 50 latest of 60 runs" in page
    table = page.split('id="runs"')[1]
    assert table.index("Report 59") < table.index("Report 10")
    assert "Report 09" not in table
    labels = re.findall(r'<text class="ax" x="[\d.]+" y="[\d.]+" text-anchor="middle">', page)
    assert 2 <= len(labels) <= 15


def test_formatting_helpers() -> None:
    """Money keeps small amounts visible; axis steps are round; date labels never crowd."""
    assert money(0.0) == "$0.00"
    assert money(1234.5) == "$1,234.50"
    assert money(0.0123) == "$0.012"
    assert money(0.00123) == "$0.0012"
    assert money(-0.25) == "-$0.25"
    assert money(0.05, 2) == "$0.05"
    assert nice_step(0.19) == 0.05
    assert nice_step(8.4) == 2.5
    assert nice_step(0.0) == 1.0
    assert x_tick_indices(1, 14) == [0]
    assert x_tick_indices(12, 14) == list(range(12))
    ticks = x_tick_indices(60, 14)
    assert ticks[0] == 0
    assert ticks[-1] == 59
    assert len(ticks) <= 14
    assert min(b - a for a, b in itertools.pairwise(ticks)) >= 5


def chromium() -> str:
    """The Chromium binary; a missing one fails the test (CI installs the `chromium` package)."""
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    assert found, "Chromium is required: apt-get install -y chromium"
    return found


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_dashboard_in_headless_chromium(stats: StatsSummary, tmp_path: Path) -> None:
    """The page loads in a real browser with its charts and no console error, and draws.

    Never skipped: without /usr/bin/chromium (Debian package `chromium`) this test fails.
    """
    binary = chromium()
    page = tmp_path / "dashboard.html"
    page.write_text(render_dashboard(stats, generated_at=GENERATED_AT), encoding="utf-8")
    flags = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]

    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    html = dom.stdout
    assert re.search(r'<svg id="chart-phase"[^>]*>', html)
    assert re.search(r'<svg id="chart-cost"[^>]*>', html)
    assert html.count("<svg") >= 4
    assert html.count('<g class="run">') == 4
    assert html.count('class="fill-primary"') >= 4
    assert 'id="quality"' in html and "No checked run" in html  # version 2 manifests
    assert "<script" not in html
    assert "Beta &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html

    shot = tmp_path / "shot.png"
    drawn = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    assert shot.is_file(), drawn.stderr[-2000:]
    assert png_size(shot) == (1200, 2000)
    # A blank 1200x2000 page compresses to a few KB; the drawn dashboard is far larger.
    assert shot.stat().st_size > 40_000


def test_every_run_is_labelled_linked_and_timed(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    for hour, stem in ((9, "a"), (13, "b"), (17, "c")):
        record = manifest(
            stem,
            f"Run {stem}",
            f"2026-11-24T{hour:02d}:00:00+00:00",
            [call("DRAFT", "secondary", "ollama", latency=1.0, output_tokens=10)],
            cloud_calls=0,
            max_cloud_calls=15,
            cost=0.0,
            baseline=0.0,
        )
        record["duration_s"] = 75.5
        (folder / f"{stem}.run.json").write_text(json.dumps(record), encoding="utf-8")
    manifests, _ = load_manifests([folder])
    page = render_dashboard(
        aggregate(manifests), generated_at=GENERATED_AT, links_from=tmp_path / "site"
    )
    axis = re.findall(r'<text class="ax"[^>]*text-anchor="middle"[^>]*>([^<]+)</text>', page)
    assert axis == ["24 Nov", "13:00", "17:00"]  # three runs on one day: three labels
    for stem in ("a", "b", "c"):
        assert f'<a href="../reports/{stem}.md">' in page
    assert page.count("1 min 16 s") == 3  # each run's time in the table
    assert "Cached</span>" not in page  # no cached call, no cached legend
