"""ROUTING_FILE: rows that override the routing matrix, their validation, and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import read_manifest, report_files
from loopback import OllamaServer, OpenAIServer
from typer.testing import CliRunner

from reporting.cli import app
from reporting.errors import ConfigError
from reporting.outline.loader import parse_outline
from reporting.outline.model import Outline, SectionType
from reporting.phases import CompilationPhase
from reporting.routing.plan import make_plan
from reporting.routing.roles import Reason, Role
from reporting.routing.routing_file import load_routing_file
from reporting.settings import Settings, load_settings

P = CompilationPhase
runner = CliRunner()

ROUTING = """\
# phase -> section type -> role; "any" matches every section type
DRAFT:
  results: primary
  any: secondary
EXPAND:
  analysis: primary
REFINE:
  appendix: secondary
"""
TYPE_LIST = (
    "intro, background, method, implementation, results, analysis, discussion, conclusion, "
    "recommendations, appendix, other, any"
)


def _outline(*types: str) -> Outline:
    """An outline of one top-level section per type, numbered 1, 2, 3 …"""
    sections = [{"title": f"Part {i}", "type": kind} for i, kind in enumerate(types, start=1)]
    return parse_outline({"title": "R", "sections": sections}, "r.yaml")


def _routing(text: str = ROUTING, name: str = "routing.yaml") -> Path:
    """A routing file in the working folder (the test's tmp_path), by its relative name."""
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def _hybrid(**overrides: object) -> Settings:
    """Hybrid settings with the routing file of the working folder."""
    return load_settings(_env_file=None, vra_hybrid_mode=True, routing_file=_routing(), **overrides)


def _problems(text: str) -> list[str]:
    """The lines of the ConfigError a routing file's text raises."""
    path = _routing(text)
    with pytest.raises(ConfigError) as caught:
        load_routing_file(path)
    return str(caught.value).splitlines()


def test_rows_of_the_file_override_the_matrix() -> None:
    outline = _outline("results", "analysis", "appendix", "method")
    plan = make_plan(outline, _hybrid())

    draft = plan.step("1", P.DRAFT)  # the matrix sends a results DRAFT to the secondary
    assert (draft.role, draft.reason) == (Role.PRIMARY, Reason.OVERRIDE)
    assert draft.rule == "DRAFT results → primary (routing.yaml)"
    assert draft.provider.name == "openai"

    expand = plan.step("2", P.EXPAND)  # the matrix sends every EXPAND to the secondary
    assert (expand.role, expand.reason) == (Role.PRIMARY, Reason.OVERRIDE)
    assert expand.rule == "EXPAND analysis → primary (routing.yaml)"

    refine = plan.step("3", P.REFINE)  # the matrix sends every REFINE to the primary
    assert (refine.role, refine.reason) == (Role.SECONDARY, Reason.OVERRIDE)
    assert refine.rule == "REFINE appendix → secondary (routing.yaml)"
    assert refine.provider.name == "local"

    # Rows the file does not have still come from the matrix.
    assert plan.step("4", P.EXPAND).reason is Reason.MATRIX
    assert plan.step("4", P.REFINE).reason is Reason.MATRIX
    assert plan.step(None, P.ABSTRACT).reason is Reason.ABSTRACT_POLICY


def test_a_specific_type_beats_any() -> None:
    plan = make_plan(_outline("results", "intro", "analysis"), _hybrid())
    results, intro, analysis = (plan.step(i, P.DRAFT) for i in ("1", "2", "3"))
    assert (results.role, results.rule) == (Role.PRIMARY, "DRAFT results → primary (routing.yaml)")
    # intro and analysis DRAFTs go to the primary in the matrix; `any` sends them local.
    for step in (intro, analysis):
        assert (step.role, step.reason) == (Role.SECONDARY, Reason.OVERRIDE)
        assert step.rule == "DRAFT any → secondary (routing.yaml)"


def test_keys_and_roles_ignore_case() -> None:
    _routing("draft:\n  Results: PRIMARY\nRefine:\n  ANY: Secondary\n")
    settings = load_settings(_env_file=None, vra_hybrid_mode=True, routing_file="routing.yaml")
    plan = make_plan(_outline("results"), settings)
    assert plan.step("1", P.DRAFT).rule == "DRAFT results → primary (routing.yaml)"
    assert plan.step("1", P.REFINE).rule == "REFINE any → secondary (routing.yaml)"


def test_hybrid_off_ignores_the_file() -> None:
    settings = load_settings(_env_file=None, routing_file=_routing(), max_cloud_calls=40)
    plan = make_plan(_outline("results", "analysis", "appendix"), settings)
    sections = [step for step in plan.steps if step.section_id is not None]
    assert {(step.role, step.reason) for step in sections} == {(Role.PRIMARY, Reason.HYBRID_OFF)}


def test_the_file_beats_the_adaptive_policy() -> None:
    settings = _hybrid(routing_policy="adaptive")
    # Well sourced and simple: the adaptive policy alone would send every DRAFT/EXPAND local.
    plan = make_plan(_outline("results", "appendix"), settings, relevance={"1": 0.9, "2": 0.9})
    assert (plan.step("1", P.DRAFT).role, plan.step("1", P.DRAFT).reason) == (
        Role.PRIMARY,
        Reason.OVERRIDE,
    )
    assert plan.step("2", P.EXPAND).reason is Reason.ADAPTIVE  # no EXPAND appendix row


def test_the_cloud_budget_still_applies_to_an_override() -> None:
    plan = make_plan(_outline("results"), _hybrid(max_cloud_calls=0))
    draft = plan.step("1", P.DRAFT)
    assert draft.matrix_role is Role.PRIMARY  # the override's role, before the budget
    assert (draft.role, draft.reason) == (Role.SECONDARY, Reason.COST_LIMIT)
    assert draft.rule == "MAX_CLOUD_CALLS=0 spent → secondary"
    assert plan.cloud_calls == 0


def test_an_unavailable_primary_is_routed_around_an_override() -> None:
    settings = _hybrid(openai_api_key="sk-test-key-1234")
    plan = make_plan(_outline("results"), settings, {Role.PRIMARY: False, Role.SECONDARY: True})
    draft = plan.step("1", P.DRAFT)
    assert (draft.role, draft.reason) == (Role.SECONDARY, Reason.UNAVAILABLE)
    plan = make_plan(_outline("results"), _hybrid(), {Role.PRIMARY: False, Role.SECONDARY: True})
    assert plan.step("1", P.DRAFT).reason is Reason.NO_PRIMARY  # no key: no primary at all


def test_each_plan_reads_the_file_again() -> None:
    settings = _hybrid()
    outline = _outline("results")
    assert make_plan(outline, settings).step("1", P.DRAFT).role is Role.PRIMARY
    _routing("DRAFT:\n  results: secondary\n")
    assert make_plan(outline, settings).step("1", P.DRAFT).role is Role.SECONDARY
    assert make_plan(outline, settings) == make_plan(outline, settings)


def test_settings_name_the_file_but_do_not_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_FILE", "absent.yaml")
    monkeypatch.setenv("VRA_HYBRID_MODE", "true")
    settings = load_settings(_env_file=None)  # no error yet: the file is read by the plan
    assert settings.routing_file == Path("absent.yaml")
    with pytest.raises(ConfigError, match=r"^absent\.yaml: file not found \(ROUTING_FILE\)$"):
        make_plan(_outline("results"), settings)


def test_a_broken_file_is_an_error_even_with_hybrid_off() -> None:
    _routing("DRAFT:\n  results: cloud\n")
    settings = load_settings(_env_file=None, routing_file="routing.yaml")
    with pytest.raises(ConfigError, match=r"^routing\.yaml: DRAFT\.results: unknown role 'cloud'"):
        make_plan(_outline("results"), settings)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "DRAFT:\n  reslts: primary\n",
            f"DRAFT.reslts: unknown section type (did you mean 'results'?); use one of {TYPE_LIST}",
        ),
        (
            "DRAFT:\n  chapter: primary\n",
            f"DRAFT.chapter: unknown section type; use one of {TYPE_LIST}",
        ),
        # A number is a key here, not a list index: `DRAFT.1`, never `DRAFT[1]`.
        ("DRAFT:\n  1: primary\n", f"DRAFT.1: unknown section type; use one of {TYPE_LIST}"),
        (
            "DRAFFT:\n  results: primary\n",
            "DRAFFT: unknown phase (did you mean 'DRAFT'?); use one of DRAFT, EXPAND, REFINE",
        ),
        (
            "abstract:\n  any: secondary\n",
            "abstract: the abstract cannot be overridden: the abstract policy decides it (the "
            "primary, or the secondary when the primary is local); use one of DRAFT, EXPAND, "
            "REFINE",
        ),
        (
            "EXPAND:\n  results: cloud\n",
            "EXPAND.results: unknown role 'cloud'; use primary or secondary",
        ),
        (
            "EXPAND:\n  results: secondry\n",
            "EXPAND.results: unknown role 'secondry' (did you mean 'secondary'?); "
            "use primary or secondary",
        ),
        (
            "EXPAND:\n  results: [primary]\n",
            "EXPAND.results: the role must be primary or secondary, not a list",
        ),
        ("EXPAND:\n  results:\n", "EXPAND.results: the role is missing; use primary or secondary"),
        ("REFINE: primary\n", "REFINE: expected a mapping of section type → role, got a str"),
        (
            "DRAFT: {}\ndraft:\n  results: primary\n",
            "draft: the same phase as DRAFT (keys ignore case)",
        ),
        (
            "DRAFT:\n  results: primary\n  Results: secondary\n",
            "DRAFT.Results: the same section type as results (keys ignore case)",
        ),
        (
            "- DRAFT\n",
            "the file is a list; it must be a mapping of phase → section type → role, "
            "the phases DRAFT, EXPAND, REFINE",
        ),
        (
            "# every row commented out\n",
            "the file is empty; it must be a mapping of phase → section type → role, "
            "the phases DRAFT, EXPAND, REFINE",
        ),
        (
            "DRAFT:\n  results: primary\n  any: secondary\n  results: secondary\n",
            "line 4, column 3: invalid YAML: duplicate key 'results'",
        ),
        (
            "DRAFT:\n  results: primary\nEXPAND: [unclosed\n",
            "line 4, column 1: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
    ],
)
def test_each_problem_is_one_line_naming_the_file_and_place(text: str, problem: str) -> None:
    assert _problems(text) == [f"routing.yaml: {problem}"]


def test_every_problem_is_reported_at_once() -> None:
    text = (
        "DRAFT:\n  reslts: primary\n  intro: cloud\n"
        "ABSTRACT:\n  reslts: primary\n"  # the bad phase's own rows are not reported again
        "EXPAND: secondary\n"
        "REFINE:\n  appendix: secondary\n"
    )
    problems = _problems(text)
    assert [line.split(": ")[1] for line in problems] == [
        "DRAFT.reslts",
        "DRAFT.intro",
        "ABSTRACT",
        "EXPAND",
    ]
    assert all(line.startswith("routing.yaml: ") for line in problems)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nope\.yaml: file not found \(ROUTING_FILE\)$"):
        load_routing_file(Path("nope.yaml"))
    folder = tmp_path / "rules"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"rules: cannot read the file: Is a directory$"):
        load_routing_file(folder)
    Path("latin1.yaml").write_bytes(b"DRAFT:\n  results: prim\xe4ry\n")
    with pytest.raises(ConfigError, match=r"^latin1\.yaml: not UTF-8 text \(byte 0xe4"):
        load_routing_file(Path("latin1.yaml"))


def test_a_valid_file_loads_its_rows() -> None:
    overrides = load_routing_file(_routing())
    assert overrides.name == "routing.yaml"
    assert overrides.lookup(P.DRAFT, SectionType.RESULTS) == ("results", "primary")
    assert overrides.lookup(P.DRAFT, SectionType.INTRO) == ("any", "secondary")
    assert overrides.lookup(P.EXPAND, SectionType.INTRO) is None
    assert overrides.lookup(P.REFINE, SectionType.APPENDIX) == ("appendix", "secondary")


def test_cli_plan_shows_the_overridden_steps(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
) -> None:
    _routing(name="rules.yaml")
    hybrid_env.setenv("ROUTING_FILE", "rules.yaml")
    result = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    calls = json.loads(result.stdout)["calls"]
    overridden = {(c["section"], c["phase"]): c for c in calls if c["reason"] == "OVERRIDE"}
    # fleet.yaml: 4 Results, 5 Analysis and 2.2 (analysis); every other DRAFT matches `any`.
    drafts = [c for c in calls if c["phase"] == "DRAFT"]
    assert all(c["reason"] == "OVERRIDE" for c in drafts)
    assert overridden[("4", "DRAFT")]["role"] == "primary"
    assert overridden[("4", "DRAFT")]["rule"] == "DRAFT results → primary (rules.yaml)"
    assert overridden[("1", "DRAFT")]["rule"] == "DRAFT any → secondary (rules.yaml)"
    assert {k for k in overridden if k[1] == "EXPAND"} == {("2.2", "EXPAND"), ("5", "EXPAND")}
    assert all(c["role"] == "primary" for k, c in overridden.items() if k[1] == "EXPAND")
    assert not any(k[1] == "REFINE" for k in overridden)  # fleet.yaml has no appendix
    assert openai_server.count == ollama_server.count == 0  # planning sends no model call


def test_cli_build_follows_the_overridden_plan(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
) -> None:
    _routing()
    hybrid_env.setenv("ROUTING_FILE", "routing.yaml")
    planned = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    built = runner.invoke(
        app, ["build", str(outline_file), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert built.exit_code == 0, built.output
    manifest = read_manifest(tmp_path / "out")
    keys = ("section", "phase", "role", "provider", "reason", "rule")
    assert [{k: c[k] for k in keys} for c in manifest["calls"]] == [
        {k: c[k] for k in keys} for c in plan["calls"]
    ]
    assert any(c["reason"] == "OVERRIDE" for c in manifest["calls"])
    assert plan["cloud_calls"] == manifest["metrics"]["cloud_calls"] == openai_server.count


@pytest.mark.parametrize("command", ["plan", "build"])
def test_cli_bad_routing_file_is_exit_2(
    hybrid_env: pytest.MonkeyPatch,
    outline_file: Path,
    tmp_path: Path,
    openai_server: OpenAIServer,
    ollama_server: OllamaServer,
    command: str,
) -> None:
    _routing("DRAFT:\n  reslts: primary\n", name="my-routing.yaml")
    hybrid_env.setenv("ROUTING_FILE", "my-routing.yaml")
    args = [command, str(outline_file)]
    if command == "build":
        args += ["--out", str(tmp_path / "out")]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert re.search(
        r"error \(invalid input\): my-routing\.yaml: DRAFT\.reslts: unknown section type "
        r"\(did you mean 'results'\?\)",
        result.stderr,
    )
    assert "Traceback" not in result.stderr
    assert openai_server.count == ollama_server.count == 0
    assert report_files(tmp_path / "out") == []


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_routing_file_means_none(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    for name in ("ROUTING_FILE", "REPORT_CACHE_DIR", "PRICES_FILE", "EMBEDDED_MODEL_PATH"):
        monkeypatch.setenv(name, blank)
    monkeypatch.setenv("VRA_HYBRID_MODE", "true")
    settings = load_settings(_env_file=None)
    assert settings.routing_file is None
    assert settings.report_cache_dir is None
    assert settings.prices_file is None
    assert settings.embedded_model_path is None
    plan = make_plan(_outline("results"), settings)  # the matrix, no file read
    assert plan.step("1", P.DRAFT).reason is not Reason.OVERRIDE


def test_a_blank_routing_file_in_dotenv_means_none(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ROUTING_FILE=\nVRA_HYBRID_MODE=true\n", encoding="utf-8")
    settings = load_settings()  # reads .env from the working folder, the test's tmp_path
    assert settings.routing_file is None
    assert make_plan(_outline("results"), settings).step("1", P.DRAFT).reason is not Reason.OVERRIDE


def test_a_complex_yaml_key_is_a_yaml_error() -> None:
    assert _problems("DRAFT:\n  ? [results, intro]\n  : primary\n") == [
        "routing.yaml: line 2, column 5: invalid YAML: a mapping key must be a plain value "
        "(a name or a number), not a list"
    ]


def test_cli_plan_with_an_empty_routing_file_variable(
    hybrid_env: pytest.MonkeyPatch, outline_file: Path
) -> None:
    hybrid_env.setenv("ROUTING_FILE", "")
    result = runner.invoke(app, ["plan", str(outline_file), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Is a directory" not in result.output
    assert all(c["reason"] != "OVERRIDE" for c in json.loads(result.stdout)["calls"])
