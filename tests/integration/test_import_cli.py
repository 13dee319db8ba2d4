"""arrears-import on moto: the same import as the import function, from an operator's shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arrears.adapters.container import Container
from arrears_cli import importer
from localcloud.stack import LocalStack

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "book.jsonl"


def test_the_cli_imports_a_file_reports_its_bad_row_and_changes_nothing_the_second_time(
    stack: LocalStack, container: Container, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = tmp_path / "env.json"
    environment.write_text(json.dumps(stack.functions["BookImportFunction"].environment))
    book = tmp_path / SAMPLE.name
    book.write_bytes(SAMPLE.read_bytes())
    assert importer.main([str(book), "--environment", str(environment)]) == 2
    out = capsys.readouterr().out
    assert "97 rows read, 96 imported, 0 unchanged, 1 rejected" in out
    assert "line 97 (loan SL-0999): disbursed_on:" in out
    report = tmp_path / "book.jsonl.errors.jsonl"
    assert [json.loads(line)["line"] for line in report.read_text().splitlines()] == [97]
    assert container.loans.get("SL-0035") is not None

    assert importer.main([str(book), "--environment", str(environment), "--report", str(tmp_path / "r")]) == 2
    assert "97 rows read, 0 imported, 96 unchanged, 1 rejected" in capsys.readouterr().out


def test_the_cli_says_what_is_wrong_with_its_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = tmp_path / "env.json"
    environment.write_text("{}")
    assert importer.main([str(SAMPLE), "--environment", str(environment)]) == 1
    assert "arrears-import:" in capsys.readouterr().err


def test_check_validates_the_rows_without_any_aws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    book = tmp_path / SAMPLE.name
    book.write_bytes(SAMPLE.read_bytes())
    assert importer.main([str(book), "--check"]) == 2
    out = capsys.readouterr().out
    assert "97 rows read, 1 would be rejected" in out
    assert "line 97 (loan SL-0999): disbursed_on:" in out
    report = tmp_path / "book.jsonl.errors.jsonl"
    assert [json.loads(line)["line"] for line in report.read_text().splitlines()] == [97]


def test_a_stack_unreachable_without_a_region_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    assert importer.main([str(SAMPLE), "--stack", "arrears-prod"]) == 1
    assert "arrears-import: NoRegionError:" in capsys.readouterr().err
