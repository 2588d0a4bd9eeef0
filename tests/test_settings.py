"""Settings that say what is wrong: unknown `.env` keys, and where a bad value came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reporting.cli import app
from reporting.errors import ConfigError, SettingsError
from reporting.settings import load_settings

runner = CliRunner()


def problems() -> list[str]:
    """The problem lines of the SettingsError the current folder's `.env` raises."""
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return caught.value.problems


def test_a_misspelled_key_is_an_error_with_a_did_you_mean() -> None:
    Path(".env").write_text("# limits\nVRA_HYBRID_MODE=true\n\nMAX_CLOUD_CALL=3\n")
    assert problems() == [
        ".env line 4: MAX_CLOUD_CALL is not a setting; did you mean MAX_CLOUD_CALLS?"
    ]


def test_every_unknown_key_is_reported_at_once_in_line_order() -> None:
    Path(".env").write_text(
        "export temperatur=0.1\nMAX_CLOUD_CALLS=3\nFLEET_COLOUR=blue\nbroken line\nmax_retrys=1\n"
    )
    assert problems() == [
        ".env line 1: temperatur is not a setting; did you mean TEMPERATURE?",
        ".env line 3: FLEET_COLOUR is not a setting",
        ".env line 4: cannot read this line; write NAME=value",
        ".env line 5: max_retrys is not a setting; did you mean MAX_RETRIES?",
    ]


def test_shared_variables_in_env_are_accepted() -> None:
    # Read by the OpenAI/Ollama clients or servers and process-wide tools sharing the file.
    Path(".env").write_text(
        "max_cloud_calls=4\nOPENAI_ORG_ID=org-1\nOLLAMA_KEEP_ALIVE=5m\nNO_PROXY=localhost\n"
        "REPORT_DEBUG=1\nREPORT_PROVIDER=local\n"
    )
    settings = load_settings()
    assert (settings.max_cloud_calls, settings.primary_provider) == (4, "local")


def test_an_environment_variable_sharing_a_prefix_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_CLOUD_CALL", "3")
    monkeypatch.setenv("PRIMARY_PROVIDER_NOTE", "ours")
    assert load_settings().max_cloud_calls == 15


def test_the_shipped_env_example_is_valid() -> None:
    example = Path(__file__).parents[1] / ".env.example"
    Path(".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_settings().secondary_provider == "embedded"


def test_a_bad_value_from_env_names_its_line() -> None:
    Path(".env").write_text("VRA_HYBRID_MODE=true\n\n\nMAX_CLOUD_CALLS=many\n")
    assert problems() == [
        ".env line 4: MAX_CLOUD_CALLS: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_a_bad_value_from_the_environment_names_it_and_wins_over_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Path(".env").write_text("MAX_CLOUD_CALLS=3\nTEMPERATURE=0.1\n")
    monkeypatch.setenv("max_cloud_calls", "-1")
    assert problems() == [
        "environment: MAX_CLOUD_CALLS: Input should be greater than or equal to 0"
    ]


def test_a_bad_report_provider_names_its_source() -> None:
    Path(".env").write_text("REPORT_PROVIDER=watson\n")
    assert problems() == [
        ".env line 1: REPORT_PROVIDER: unknown provider 'watson'; "
        "use one of: embedded, local, ollama, openai"
    ]


def test_unknown_keys_and_bad_values_come_together_and_exit_2(outline_file: Path) -> None:
    Path(".env").write_text("MAX_CLOUD_CALL=3\nTEMPERATURE=hot\n")
    result = runner.invoke(
        app, ["plan", str(outline_file)], env={"REQUEST_TIMEOUT": "0"}, catch_exceptions=False
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: the settings have 3 problems; nothing was generated",
        "  .env line 1: MAX_CLOUD_CALL is not a setting; did you mean MAX_CLOUD_CALLS?",
        # Value problems in the order of the settings.
        "  environment: REQUEST_TIMEOUT: Input should be greater than 0",
        "  .env line 2: TEMPERATURE: Input should be a valid number, "
        "unable to parse string as a number",
    ]


def test_an_env_file_that_is_not_utf8_is_a_config_error() -> None:
    Path(".env").write_bytes(b"TEMPERATURE=0.2\nOWNER=J\xf6rg\n")
    expected = r"^\.env line 2: not UTF-8 text \(byte 0xf6\); save it as UTF-8$"
    with pytest.raises(ConfigError, match=expected):
        load_settings()


def test_arguments_and_no_env_file_are_not_checked() -> None:
    Path(".env").write_text("MAX_CLOUD_CALL=3\n")
    assert load_settings(_env_file=None, max_cloud_calls=2).max_cloud_calls == 2
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, max_retries=99)
    assert caught.value.problems == ["MAX_RETRIES: Input should be less than or equal to 10"]
