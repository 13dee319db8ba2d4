"""docs/compliance.md's rule tables are generated from rulepacks.yaml and never stale."""

from __future__ import annotations

from arrears.config.rulepacks import bundled_rule_packs
from scripts.compliance_tables import DOCUMENT, current_tables, render


def test_the_rule_tables_match_the_bundled_packs() -> None:
    fresh = render(bundled_rule_packs())

    assert current_tables(DOCUMENT.read_text(encoding="utf-8")) == fresh, (
        "docs/compliance.md is stale: run python scripts/compliance_tables.py --write"
    )


def test_every_bundled_rule_is_tabled_with_its_number_scope_and_citation() -> None:
    tables = render(bundled_rule_packs())

    assert (
        "| ma_calls_texts_7_days | at most 2 in any 7 days | per debt; CALL_TASK, SMS | 940 CMR 7.04(1)(f)"
        in tables
    )
    assert "| call_attempts_7_days | 7 call attempts in any 7 consecutive days |" in tables
    assert (
        "| wa_communications_week | at most 3 in any 7 days | per borrower; CALL_TASK, EMAIL, SMS |" in tables
    )
    us_retention = "| retention_years | 3 years from the last collection activity on the debt | per record |"
    assert us_retention in tables
    assert "| retention_years | 5 years from the record's day | per record |" in tables
    cn_replies = "| reply_keywords | a text reply of `STOP` / `T` / `TD` / `取消` / `退订` opts out of texts;"
    assert cn_replies in tables
    assert "citation not recorded" not in tables
    for heading in (
        "### CN 2026.1",
        "### US-REGF 2026.1",
        "### LENDER-US 2026.1",
        "### US-MA 2026.1",
        "### US-WA 2026.1",
    ):
        assert heading in tables
