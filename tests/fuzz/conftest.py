"""The fuzz suite's world: one stack from template.yaml on moto per module, two registered loans whose
borrowers carry recognisable personal data, and a local cloud whose log the suite reads."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.container import Container
from arrears.config.settings import load_settings
from localcloud.cloud import LocalCloud
from localcloud.stack import deploy
from tests.fuzz.harness import KNOWN_LOANS, START, World
from tests.integration.conftest import borrower_for, cn_cash_loan, register, us_regf_loan

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

PII = {
    "name": "Fuzzina Borrowerova",
    "phone": "+8613912345678",
    "email": "fuzzina.borrowerova@example.cn",
    "address": "Fuzz Street 1, Shanghai",
}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        stack = deploy(TEMPLATE)
        container = Container(
            load_settings(stack.functions["SweepFunction"].environment), boto3.session.Session()
        )
        log = io.StringIO()
        cloud = LocalCloud(stack, start=START, log=log)
        cn, us = (
            cn_cash_loan(KNOWN_LOANS[0]),
            us_regf_loan(KNOWN_LOANS[1]),
        )
        register(container, cn, borrower_for(cn, **PII), START)
        register(container, us, borrower_for(us, "America/New_York", language="en-US", **PII), START)
        cloud.settle()
        # moto's state and the loaded handlers are tens of thousands of long-lived objects: out of the
        # collector's way, its passes over the suite's many short-lived ones stay cheap.
        gc.collect()
        gc.freeze()
        try:
            yield World(stack, container, cloud, log, pii=tuple(PII.values()))
        finally:
            gc.unfreeze()
