"""cfn-lint (with the SAM transform it applies itself) finds nothing in template.yaml."""

from pathlib import Path

import pytest
from cfnlint.api import lint_file

pytestmark = pytest.mark.infrastructure

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_cfn_lint_reports_no_errors_or_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SAM translator looks up the partition from the default region; never reach for a profile.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    matches = lint_file(TEMPLATE)
    assert [f"{m.rule.id} {m.linenumber}:{m.columnnumber} {m.message}" for m in matches] == []
