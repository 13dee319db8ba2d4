"""The function's environment, validated once into `Settings` (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.config.settings import ConfigurationError, Settings, load_settings

REQUIRED = {
    name.upper(): f"the-{name}" for name, field in Settings.model_fields.items() if field.is_required()
}


def test_the_process_environment_is_read_by_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("OPEN_LOAN_CENSUS", "Disabled")
    settings = load_settings()
    assert (settings.loans_table, settings.shard_count, settings.census_enabled) == (
        "the-loans_table",
        4,
        False,
    )


def test_a_given_environment_is_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "99")
    monkeypatch.setenv("LOANS_TABLE", "from-the-process")
    settings = load_settings(REQUIRED)
    assert type(settings) is Settings
    assert (settings.loans_table, settings.shard_count) == ("the-loans_table", 16)
    assert settings == load_settings(REQUIRED)


def test_no_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("".join(f"{name}=x\n" for name in REQUIRED))
    monkeypatch.chdir(tmp_path)
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="LOANS_TABLE: Field required"):
        load_settings()


def test_an_invalid_environment_names_each_variable_and_problem() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({**REQUIRED, "SHARD_COUNT": "0", "SWEEP_TIMEZONE": "Mars/Olympus"})
    assert "SHARD_COUNT: Input should be greater than or equal to 1" in str(error.value)
    assert "SWEEP_TIMEZONE: Value error, 'Mars/Olympus' is not an IANA time zone" in str(error.value)
    with pytest.raises(ConfigurationError, match="TOKEN_SECRET_ARN: Field required"):
        load_settings({name: value for name, value in REQUIRED.items() if name != "TOKEN_SECRET_ARN"})
