"""The CLIs end with one line on stderr and exit 2 when AWS cannot be reached or used, not a traceback."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from arrears_cli import audit, ops
from arrears_cli.aws_errors import describe


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")


@pytest.mark.parametrize(
    "argv",
    [
        ["--stack", "arrears-demo", "history", "--loan", "L007000008"],
        ["--stack", "arrears-demo", "redrive", "--dlq", "FieldVisitDLQ", "--dry-run"],
    ],
)
def test_an_ops_command_without_a_region_says_so_in_one_line(
    argv: list[str], no_region: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ops.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("arrears-ops: no AWS region: ")
    assert "Traceback" not in err


def test_an_audit_of_a_bucket_without_a_region_says_so_in_one_line(
    no_region: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit.main(["verify", "--bucket", "b", "--chain-table", "t"]) == 2
    assert capsys.readouterr().err.startswith("arrears-audit: no AWS region: ")


def test_a_refused_request_and_an_unreachable_endpoint_are_named_without_a_payload() -> None:
    refused = ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GetItem")
    assert describe(refused) == "AWS refused GetItem: AccessDenied: not allowed"
    gone = EndpointConnectionError(endpoint_url="https://sqs.eu-west-9.amazonaws.com")
    assert describe(gone) == "cannot reach https://sqs.eu-west-9.amazonaws.com (network, or the region)"
