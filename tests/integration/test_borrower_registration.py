"""Registering a borrower again never undoes what the borrower decided: opt-outs, stamps, an erasure."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from arrears.adapters.container import Container
from arrears.domain.borrowers import Borrower
from arrears.usecases.erasure import request_sha256

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def registration(**changes: object) -> Borrower:
    values: dict[str, object] = {
        "borrower_id": "B-REG",
        "timezone": "America/New_York",
        "language": "en",
        "region": "NY",
        "name": "Jane Doe",
        "phone": "+12125550100",
        "email": "jane.doe@example.com",
    }
    values.update(changes)
    return Borrower(**values)  # type: ignore[arg-type]


def raw_item(container: Container) -> dict[str, object]:
    table = boto3.resource("dynamodb").Table(container.settings.borrowers_table)
    return dict(table.get_item(Key={"borrower_id": "B-REG"})["Item"])


def test_a_re_registration_keeps_the_borrowers_opt_outs_and_adds_its_own(container: Container) -> None:
    """Was: `put` replaced the item, so the lending core's next registration of the borrower (a new
    loan) wiped `opted_out_channels` and texts went out again after a STOP."""
    borrowers = container.borrowers
    borrowers.put(registration())
    assert borrowers.set_channel_preference("B-REG", "SMS", opted_out=True, at=AT)

    borrowers.put(registration(phone="+12125550199", opted_out_channels=frozenset({"EMAIL"})))

    stored = borrowers.get("B-REG")
    assert stored is not None
    assert stored.opted_out_channels == frozenset({"SMS", "EMAIL"})
    assert stored.phone == "+12125550199"  # the profile is the registration's
    assert raw_item(container)["preference_at_SMS"] == "2026-03-10T12:00:00Z"

    borrowers.put(registration(email=""))  # no e-mail on file any more: removed, opt-outs kept
    again = borrowers.get("B-REG")
    assert again is not None
    assert again.email == ""
    assert again.opted_out_channels == frozenset({"SMS", "EMAIL"})


def test_a_re_registration_does_not_write_an_erased_borrowers_personal_data_back(
    container: Container,
) -> None:
    borrowers = container.borrowers
    borrowers.put(registration())
    assert borrowers.erase(
        "B-REG", request_sha256=request_sha256("r-1"), erased_at=AT, opt_out=["SMS", "EMAIL"]
    )

    borrowers.put(registration(language="zh-CN"))

    item = raw_item(container)
    assert not {"name", "phone", "email", "address", "phone_key"} & set(item)
    assert item["erased_at"] == "2026-03-10T12:00:00Z"
    assert item["language"] == "zh-CN"
    assert sorted(item["opted_out_channels"]) == ["EMAIL", "SMS"]  # type: ignore[call-overload]
