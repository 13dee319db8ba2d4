"""No personal data leaves the Borrowers table: not in any log line, metric, archived line or key.

Several borrowers with known names, phones, e-mails and addresses (CN and US) go through the whole
path on moto - sweep, planner, dispatcher (SMS, e-mail, call tasks), archiver - plus a payment and an
erasure request. Every line the functions log (Powertools JSON and EMF metrics, and anything else
logged at INFO or above through `logging`) and every archived byte is searched for each value.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from arrears.adapters.container import Container
from arrears.domain.archive import decode_lines
from arrears.domain.borrowers import Borrower
from localcloud.stack import LocalStack
from tests.integration.archive_support import bucket_objects
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, us_regf_loan, utc

PEOPLE = [
    (
        "L-P1",
        "CN",
        "Asia/Shanghai",
        "李雷",
        "+8613911112222",
        "li.lei@example.cn",
        "北京市海淀区中关村大街27号",
    ),
    (
        "L-P2",
        "CN",
        "Asia/Urumqi",
        "韩梅梅",
        "+8613733334444",
        "hanmeimei@example.cn",
        "乌鲁木齐市天山区解放南路8号",
    ),
    (
        "L-P3",
        "CN",
        "Asia/Shanghai",
        "Zhang Wei",
        "+8618655556666",
        "zhang.wei@example.com",
        "Room 5, 88 Nanjing Road",
    ),
    (
        "L-P4",
        "US-REGF",
        "America/Chicago",
        "Jordan Smith",
        "+13125550147",
        "jordan.smith@example.com",
        "1200 W Harrison St, Chicago, IL 60607",
    ),
]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Also catch anything logged through `logging` (libraries, a stray logger.info) at INFO+."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield sink
    root.removeHandler(handler)
    root.setLevel(level)


def test_no_personal_data_in_logs_metrics_or_the_archive(
    make_cloud: CloudFactory, container: Container, stack: LocalStack, captured: io.StringIO
) -> None:
    log = io.StringIO()
    cloud = make_cloud(utc(2026, 2, 20, 2, 0), log=log)
    borrowers: list[Borrower] = []
    for loan_id, jurisdiction, zone, name, phone, email, address in PEOPLE:
        loan = (
            us_regf_loan(loan_id, principal=150_000, interest=2_500, fee=500, penalty_daily_ppm=300)
            if jurisdiction == "US-REGF"
            else cn_cash_loan(loan_id, due=date(2026, 3, 1))
        )
        borrower = borrower_for(
            loan,
            zone,
            name=name,
            phone=phone,
            email=email,
            address=address,
            region="IL" if jurisdiction == "US-REGF" else "Beijing",
        )
        register(container, loan, borrower, cloud.clock)
        borrowers.append(borrower)
    cloud.settle()

    for day in range(1, 16):  # sweeps, then the dispatcher at 08:00 Shanghai and ~08:00 Chicago
        cloud.advance_to(utc(2026, 3, 1, 16, 30) + timedelta(days=day - 1))
        cloud.schedule("SweepFunction")
        cloud.advance_to(utc(2026, 3, 2, 0, 5) + timedelta(days=day - 1))
        cloud.schedule("DeferredReleaseFunction")
        cloud.advance_to(utc(2026, 3, 2, 14, 5) + timedelta(days=day - 1))
        cloud.schedule("DeferredReleaseFunction")
    cloud.put_event(
        "LoanEventsBus",
        "arrears.lending-core",
        "PaymentReceived",
        {
            "payment_id": "PAY-P3",
            "loan_id": "L-P3",
            "amount_minor": 10_000,
            "currency": "CNY",
            "paid_at": "2026-03-16T03:00:00Z",
        },
    )
    (erasure,) = cloud.put_event(
        "LoanEventsBus",
        "arrears.privacy",
        "ErasureRequested",
        {"request_id": "ER-P2", "borrower_id": "B-L-P2", "requested_at": "2026-03-16T04:00:00Z"},
    )
    cloud.settle()

    # An open debt: the contact data goes, the identity its bureau report needs stays (in DynamoDB only)
    assert erasure["fields_erased"] == ["phone", "email"]
    assert erasure["identity_kept"] == ["name", "address"]
    lines = log.getvalue().splitlines() + captured.getvalue().splitlines()
    objects = bucket_objects(stack, "")
    archived = [
        str(line) for key, body in objects.items() if key.endswith(".jsonl.gz") for line in decode_lines(body)
    ]
    others = [body.decode() for key, body in objects.items() if not key.endswith(".jsonl.gz")]
    # the path really ran: contacts on several channels for every borrower, archived and logged
    assert {c for line in archived for c in ("SMS", "EMAIL") if f"'channel': '{c}'" in line} == {
        "SMS",
        "EMAIL",
    }
    assert len(archived) >= 8
    assert len(lines) > 50
    assert any("erasures/" in key for key in objects)
    leaks = [
        (value, where[:120])
        for person in borrowers
        for value in (person.name, person.phone, person.email, person.address, person.phone.lstrip("+"))
        for where in (*lines, *archived, *others, *objects)
        if value in where
    ]
    assert leaks == []
    # and the archive never names the borrower id (only the HMAC token)
    assert not [line for line in archived for p in borrowers if p.borrower_id in line]
