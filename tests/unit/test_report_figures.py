"""The report's SQL on DuckDB over a small hand-made export, with every figure worked out by hand."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arrears_report import figures as F
from arrears_report.report import build_figures, render
from arrears_report.stats import wilson
from arrears_report.tables import QUERIES, open_local, run

# (loan, jurisdiction, arm, disbursed_on, [(changed_on, from, to, dpd)])
HISTORY: list[tuple[str, str, str, str, list[tuple[str, str | None, str, int]]]] = [
    (
        "L1",
        "CN",
        "champion",
        "2026-01-15",
        [("2026-03-01", None, "M0", 0), ("2026-03-05", "M0", "M1", 1), ("2026-03-08", "M1", "M0", 0)],
    ),
    (
        "L2",
        "CN",
        "champion",
        "2026-01-15",
        [("2026-03-01", None, "M0", 0), ("2026-03-05", "M0", "M1", 1), ("2026-04-04", "M1", "M2", 31)],
    ),
    (
        "L3",
        "CN",
        "champion",
        "2026-02-01",
        [("2026-03-01", None, "M0", 0), ("2026-03-10", "M0", "M1", 1), ("2026-03-12", "M1", "CLOSED", 0)],
    ),
    (
        "L4",
        "CN",
        "challenger",
        "2026-02-10",
        [("2026-03-01", None, "M0", 0), ("2026-03-05", "M0", "M1", 1), ("2026-03-06", "M1", "M0", 0)],
    ),
    (
        "L5",
        "CN",
        "challenger",
        "2026-02-10",
        [("2026-03-01", None, "M1", 10), ("2026-03-31", "M1", "M2", 31)],
    ),
    (
        "L6",
        "US-REGF",
        "champion",
        "2025-09-01",
        [("2026-03-01", None, "M4+", 160), ("2026-03-20", "M4+", "CHARGED_OFF", 180)],
    ),
]
# (contact id, loan, channel, status, occurred_at, archive file)
CONTACTS = [
    ("C1", "L1", "SMS", "SENT", "2026-03-06T02:00:00Z", "a", ""),
    ("C2", "L2", "SMS", "SENT", "2026-03-06T02:00:00Z", "a", ""),
    ("C3", "L2", "CALL_TASK", "SENT", "2026-03-10T02:00:00Z", "b", "no_answer"),  # a call attempt
    (
        "C3",
        "L2",
        "CALL_TASK",
        "SENT",
        "2026-03-10T02:00:00Z",
        "c",
        "no_answer",
    ),  # archived twice: counted once
    ("C4", "L4", "SMS", "DEFERRED", "2026-03-05T02:00:00Z", "a", ""),
    ("C5", "L3", "SMS", "SENT", "2026-02-27T02:00:00Z", "a", ""),  # a reminder before the episode
    # Not contacts made: the call task queued for the dialer (its attempt C3 is), a bureau report.
    ("C6", "L2", "CALL_TASK", "SENT", "2026-03-09T02:00:00Z", "a", ""),
    ("C7", "L2", "BUREAU", "SENT", "2026-03-09T02:00:00Z", "a", ""),
]


def export(tmp_path: Path) -> tuple[Path, Path]:
    data, archive = tmp_path / "data", tmp_path / "archive"
    data.mkdir()
    loans, transitions = [], []
    for loan_id, jurisdiction, arm, disbursed, changes in HISTORY:
        last = changes[-1][2]
        charged_off = last == "CHARGED_OFF"
        loans.append(
            {
                "loan_id": loan_id,
                "jurisdiction": jurisdiction,
                "strategy_arm": arm,
                "disbursed_on": disbursed,
                "currency": "CNY" if jurisdiction == "CN" else "USD",
                "principal_minor": 100_000,
                "status": last if last in ("CLOSED", "CHARGED_OFF") else "OPEN",
                "bucket": "M4+" if charged_off else (last if last.startswith("M") else "M0"),
                "dpd": changes[-1][3],
                "charged_off_on": "2026-03-20" if charged_off else None,
                "recovered_minor": 2_500 if charged_off else 0,
                "balance_minor": 7_500 if charged_off else 0,
            }
        )
        for version, (on, source, target, dpd) in enumerate(changes, start=1):
            transitions.append(
                {
                    "loan_id": loan_id,
                    "jurisdiction": jurisdiction,
                    "strategy_arm": arm,
                    "disbursed_on": disbursed,
                    "changed_on": on,
                    "from_state": source,
                    "to_state": target,
                    "dpd": dpd,
                    "version": version,
                }
            )
    for name, rows in (("loans", loans), ("transitions", transitions)):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    files: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for contact_id, loan_id, channel, status, at, batch, result in CONTACTS:
        files.setdefault((at[:10], batch), []).append(
            {
                "contact_id": contact_id,
                "loan_id": loan_id,
                "channel": channel,
                "status": status,
                "occurred_at": at,
                "strategy": "cn-consumer@1#x",
                "dpd": 1,
                "borrower_token": "t",
                "result": result,
                # a receipt: a deferred contact names the rule and the layer that held it
                **(
                    {"rules_checked": ["loan_open:PASS", "hardship:FAIL"], "decided_by": "CN@2026.1"}
                    if status == "DEFERRED"
                    else {"rules_checked": ["loan_open:PASS"], "decided_by": ""}
                ),
            }
        )
    for (day, batch), rows in files.items():
        folder = archive / "contacts" / "jurisdiction=CN" / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{batch}.jsonl.gz").write_bytes(
            gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
        )
    return data, archive


def test_every_query_runs_on_duckdb_over_the_export(tmp_path: Path) -> None:
    data, archive = export(tmp_path)
    write_plans(archive)
    write_reasons(archive)
    con = open_local(data, archive)
    for name in QUERIES:
        assert run(con, name), name


def test_roll_rate_matrix_by_hand(tmp_path: Path) -> None:
    rows = run(open_local(*export(tmp_path)), "roll_rates")
    cn = F.roll_matrix(rows, "CN")
    # stays: M0 -> M1 four times, M0 kept twice (L1, L4 at the end); M1 -> M0 2, -> M2 2, -> CLOSED 1
    assert cn["counts"]["M0"] == {"M1": 4, "M0": 2}
    assert cn["counts"]["M1"] == {"M0": 2, "M2": 2, "CLOSED": 1}
    assert cn["counts"]["M2"] == {"M2": 2}
    assert cn["rates"]["M1"]["M2"] == pytest.approx(0.4)
    assert cn["states"] == ["M0", "M1", "M2", "CLOSED"]
    assert F.roll_rate(F.roll_matrix(rows, "CN", "champion"), "M1", "M2").rate == pytest.approx(1 / 3)
    assert F.roll_rate(F.roll_matrix(rows, "CN", "challenger"), "M1", "M2").rate == pytest.approx(1 / 2)
    assert F.roll_matrix(rows, "US-REGF")["counts"] == {"M4+": {"CHARGED_OFF": 1}}


def test_cures_self_cures_and_contacts_per_cure_by_hand(tmp_path: Path) -> None:
    episodes = run(open_local(*export(tmp_path)), "episodes")
    by_loan = {(e["loan_id"], e["started_on"]): e for e in episodes}
    assert set(by_loan) == {
        ("L1", "2026-03-05"),
        ("L2", "2026-03-05"),
        ("L3", "2026-03-10"),
        ("L4", "2026-03-05"),
        ("L5", "2026-03-01"),
        ("L6", "2026-03-01"),
    }
    assert by_loan[("L1", "2026-03-05")]["contacts_made"] == 1  # C1
    assert by_loan[("L2", "2026-03-05")]["contacts_made"] == 2  # C2 and C3 once; not C6 (queued), C7
    assert by_loan[("L3", "2026-03-10")]["contacts_made"] == 0  # C5 was before the episode
    assert by_loan[("L4", "2026-03-05")]["contacts_made"] == 0  # deferred: not sent
    assert by_loan[("L1", "2026-03-05")]["days_to_end"] == 3
    assert by_loan[("L6", "2026-03-01")]["end_state"] == "CHARGED_OFF"
    champion = F.cure_figures(
        [e for e in episodes if e["jurisdiction"] == "CN" and e["strategy_arm"] == "champion"]
    )
    assert champion["episodes"] == 3
    assert (champion["cure_rate"]["successes"], champion["self_cure_rate"]["successes"]) == (2, 1)
    assert champion["cured_with_contact"] == 1
    assert champion["contacts_per_cure"] == 1.5  # 3 contacts over 2 cures
    challenger = F.cure_figures(
        [e for e in episodes if e["jurisdiction"] == "CN" and e["strategy_arm"] == "challenger"]
    )
    assert (
        challenger["episodes"],
        challenger["cure_rate"]["successes"],
        challenger["self_cure_rate"]["successes"],
    ) == (2, 1, 1)
    # Cure curve: within 0 days none of 3, within 2 days L3, within 3 days L1 and L3
    curve = F.cure_curve(
        [e for e in episodes if e["strategy_arm"] == "champion" and e["jurisdiction"] == "CN"],
        date(2026, 4, 10),
        3,
    )
    assert [(p["day"], p["successes"], p["trials"]) for p in curve] == [
        (0, 0, 3),
        (1, 0, 3),
        (2, 1, 3),
        (3, 2, 3),
    ]
    assert curve[3]["low"] == pytest.approx(0.2077, abs=1e-4)
    assert curve[3]["high"] == pytest.approx(0.9385, abs=1e-4)


def test_stock_vintages_contacts_and_recoveries_by_hand(tmp_path: Path) -> None:
    con = open_local(*export(tmp_path))
    stock = {(r["day"], r["jurisdiction"], r["state"]): 0 for r in run(con, "bucket_stock")}
    for r in run(con, "bucket_stock"):
        stock[(r["day"], r["jurisdiction"], r["state"])] += r["loans"]
    assert stock[("2026-03-05", "CN", "M1")] == 4
    assert stock[("2026-03-05", "CN", "M0")] == 1
    assert stock[("2026-04-04", "CN", "M2")] == 2
    assert stock[("2026-04-04", "CN", "CLOSED")] == 1
    rates = {(r["day"], r["jurisdiction"]): r for r in F.delinquency_rates(run(con, "bucket_stock"))}
    assert rates[("2026-03-05", "CN")]["open_loans"] == 5
    assert rates[("2026-03-05", "CN")]["rates"] == {"M1": 0.8}
    vintages = {(r["vintage"], r["day"]): (r["loans"], r["ever_30_dpd"]) for r in run(con, "vintages")}
    assert vintages[("2026-01", "2026-04-04")] == (2, 1)
    assert vintages[("2026-02", "2026-03-31")] == (3, 1)
    assert vintages[("2026-02", "2026-03-05")] == (3, 0)
    contacts = {
        (r["strategy_arm"], r["channel"], r["status"]): (r["contacts"], r["made"])
        for r in run(con, "contacts")
    }
    assert contacts == {  # (records, contacts made)
        ("champion", "SMS", "SENT"): (3, 3),
        ("champion", "CALL_TASK", "SENT"): (2, 1),  # the attempt, not the task queued
        ("champion", "BUREAU", "SENT"): (1, 0),
        ("challenger", "SMS", "DEFERRED"): (1, 0),
    }
    (recovery,) = F.recovery_figures(run(con, "recoveries"))
    assert recovery["recovered_minor"] == 2_500
    assert recovery["exposure_minor"] == 10_000
    assert recovery["recovery_rate"] == 0.25


def test_the_figures_compare_arms_and_the_page_is_self_contained(tmp_path: Path) -> None:
    data, archive = export(tmp_path)
    counted = {
        "requests": {"dynamodb:PutItem": 1000, "sqs:SendMessage": 500, "ssm:GetParameter": 3},
        "sms_messages": 10,
        "sms_parts_by_country_code": {"+1": 10, "+86": 4},
    }
    figures = build_figures(data, archive, as_of=date(2026, 4, 10), counted=counted, invocations=100)
    cn = figures["per_jurisdiction"]["CN"]
    comparison = cn["cure_rate_against_champion"]["challenger"]
    # 2/3 vs 1/2: pooled 3/5, z = (0.5 - 0.6667) / sqrt(0.24 * (1/3 + 1/2)) = -0.3727
    assert comparison["difference"] == pytest.approx(-1 / 6, abs=1e-6)
    assert comparison["z"] == pytest.approx(-0.3727, abs=1e-4)
    assert comparison["significant"] is False
    assert comparison["minimum_detectable_effect"] > 1  # five episodes detect nothing
    cost = figures["cost"]
    # 1000 writes at $0.625/M, 500 SQS at $0.40/M, 100 invocations at $0.20/M, 10 US parts at $0.00581
    assert cost["total_usd"] == pytest.approx(0.000625 + 0.0002 + 0.00002 + 0.0581, abs=1e-9)
    assert cost["not_priced"] == {"ssm:GetParameter": 3, "sms parts to +86": 4}
    assert cost["usd_per_1000_loans"] == pytest.approx(1000 * cost["total_usd"] / 6, abs=1e-6)
    page = render(figures, {"start": "2026-03-01", "end": "2026-04-10", "days": 40, "seed": 7})
    assert page.count('<figure class="chart"') == 7
    assert page.count("<svg") == 7
    # The roll-rate rows say how many stays each share is of (CN M1: 5, with US-REGF's none).
    assert "M1 (n=5)" in page
    # Nothing to fetch: no script, no external reference, no image or stylesheet link
    for fetch in ("<script", "src=", 'href="http', "url(http", "@import", "<link"):
        assert fetch not in page, fetch


def test_contact_outcome_rates_add_modelled_counts_to_the_archives_per_arm(tmp_path: Path) -> None:
    data, archive = export(tmp_path)
    behaviour = {
        ("CN", "champion"): {
            "call_attempts": 8,
            "right_party_contacts": 2,
            "promises": 4,
            "promises_kept": 3,
            "complaints": 1,
            "opt_outs": 0,
            "unrelated": 9,
        },
    }
    counted = {"requests": {}, "sms_messages": 0}
    figures = build_figures(data, archive, as_of=date(2026, 4, 10), counted=counted, behaviour=behaviour)
    champion = figures["per_jurisdiction"]["CN"]["arms"]["champion"]
    # the fixture archives one unanswered call attempt (C3) beside the 8 modelled: 2 of 9
    assert champion["right_party_contact_rate"]["rate"] == pytest.approx(2 / 9)
    assert champion["promise_kept_rate"]["rate"] == pytest.approx(0.75)
    # per 1,000 of the arm's contacts sent (3 SMS and 1 call task in the fixture)
    assert champion["complaints_per_1000_contacts"] == pytest.approx(250.0)
    assert champion["opt_outs_per_1000_contacts"] == 0
    challenger = figures["per_jurisdiction"]["CN"]["arms"]["challenger"]
    assert challenger["right_party_contact_rate"] is None  # no call attempt in that arm: not measured
    page = render(figures, {"start": "2026-03-01", "end": "2026-04-10", "days": 40, "seed": 7})
    assert "Contact outcomes" in page
    assert "25.0 %" in page
    # Without modelled counts, the archive's alone: one call attempt (no right party), no promise,
    # complaint or opt-out archived: the promise-kept rate is not measured, the others are 0
    figures_alone = build_figures(data, archive, as_of=date(2026, 4, 10))
    alone = figures_alone["per_jurisdiction"]["CN"]["arms"]["champion"]
    assert (alone["right_party_contact_rate"]["rate"], alone["right_party_contact_rate"]["trials"]) == (0, 1)
    assert alone["promise_kept_rate"] is None
    assert (alone["complaints_per_1000_contacts"], alone["opt_outs_per_1000_contacts"]) == (0, 0)


def _plan_record(folder: Path, name: str, record: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(record, sort_keys=True))


def write_plans(archive: Path) -> None:
    """Plan requests and plan events of a hand-made run under the archive's `borrower-requests/plan/`
    and `plans/` (the layout of docs/plans.md)."""
    requests = archive / "borrower-requests" / "plan" / "dt=2026-03-02"
    for rid, loan, jurisdiction, decision in (
        ("R1", "L1", "CN", "auto"),
        ("R2", "L2", "CN", "queued"),  # referred: the supervisor agrees it below
        ("R3", "L3", "CN", "agent"),
        ("R4", "L5", "US-REGF", "queued"),  # referred, never decided
    ):
        record = {
            "request_id": rid,
            "loan_id": loan,
            "jurisdiction": jurisdiction,
            "at": "2026-03-02T01:00:00Z",
        }
        _plan_record(requests, f"{rid}.json", {**record, "details": {"decision": decision, "instalments": 2}})
    events = (  # (plan, loan, approval, event, instalment, day)
        ("P1", "L1", "auto", "agreed", None, "2026-03-02"),
        ("P1", "L1", "auto", "instalment_kept", 1, "2026-03-09"),
        ("P1", "L1", "auto", "instalment_kept", 2, "2026-03-16"),
        ("P1", "L1", "auto", "completed", None, "2026-03-16"),
        ("P2", "L2", "supervisor", "agreed", None, "2026-03-03"),
        ("P2", "L2", "supervisor", "instalment_missed", 1, "2026-03-20"),
        ("P2", "L2", "supervisor", "broken", None, "2026-03-20"),
        ("P3", "L3", "agent", "agreed", None, "2026-03-02"),
    )
    for plan, loan, approval, event, seq, day in events:
        event_record: dict[str, Any] = {
            "record_type": "repayment_plan",
            "event": event,
            "instalment": seq,
            "loan_id": loan,
            "jurisdiction": "CN",
            "at": f"{day}T02:00:00Z",
            "plan": {"plan_id": plan, "approval": approval, "status": "active", "instalments": []},
            "sources": {"grace_days": "LENDER-CN-PLAN-4"},
        }
        _plan_record(archive / "plans" / f"dt={day}" / plan, f"{event}-{seq or 0}.json", event_record)


def write_reasons(archive: Path) -> None:
    """Hardship and dispute requests of a hand-made run under `borrower-requests/<kind>/` (their
    reasons as codes; the free text is never archived)."""
    for kind, rid, loan, reason in (
        ("hardship", "H1", "L1", "illness"),
        ("hardship", "H2", "L1", "illness"),  # asked again: two requests, one loan
        ("hardship", "H3", "L2", "illness"),
        ("hardship", "H4", "L3", "job_loss"),
        ("dispute", "D1", "L4", "wrong_amount"),
        ("dispute", "D2", "L5", None),  # no reason given
    ):
        record = {"request_id": rid, "loan_id": loan, "jurisdiction": "CN", "at": "2026-03-06T01:00:00Z"}
        details = {"reason": reason, "has_text": True} if reason else {"verify_by": "2026-03-20"}
        _plan_record(
            archive / "borrower-requests" / kind / "dt=2026-03-06",
            f"{rid}.json",
            {**record, "details": details},
        )


def test_plans_asked_agreed_by_route_kept_broken_and_completed_per_jurisdiction_by_hand(
    tmp_path: Path,
) -> None:
    data, archive = export(tmp_path)
    write_plans(archive)
    rows = F.plan_figures(run(open_local(data, archive), "plans"))
    assert rows == [
        {
            "jurisdiction": "CN",
            "asked": 3,
            "referred": 1,
            "agreed_auto": 1,
            "agreed_agent": 1,
            "agreed_supervisor": 1,
            "instalments_kept": 2,
            "instalments_missed": 1,
            "broken": 1,
            "completed": 1,
        },
        {
            "jurisdiction": "US-REGF",
            "asked": 1,
            "referred": 1,
            "agreed_auto": 0,
            "agreed_agent": 0,
            "agreed_supervisor": 0,
            "instalments_kept": 0,
            "instalments_missed": 0,
            "broken": 0,
            "completed": 0,
        },
    ]
    figures = build_figures(data, archive, as_of=date(2026, 4, 10), counted={"requests": {}})
    assert figures["plans"] == rows
    page = render(figures, {"start": "2026-03-01", "end": "2026-04-10", "days": 40, "seed": 7})
    assert 'data-chart="plans"' in page
    assert (
        "<td>CN</td><td>3</td><td>1</td><td>1</td><td>1</td><td>1</td><td>2</td><td>1</td><td>1</td><td>1</td>"
        in page
    )


def test_a_run_without_plans_reports_none(tmp_path: Path) -> None:
    data, archive = export(tmp_path)
    figures = build_figures(data, archive, as_of=date(2026, 4, 10), counted={"requests": {}})
    assert figures["plans"] == []
    page = render(figures, {"start": "2026-03-01", "end": "2026-04-10", "days": 40, "seed": 7})
    assert "No repayment plan was asked for." in page


def test_the_cure_curve_never_falls_when_younger_episodes_cure_faster() -> None:
    """Two young episodes cure on day 1; two old ones never cure (one open, one charged off). The
    share among episodes observed k days fell from 2/4 on day 1 to 0/2 on day 10 (only the old ones
    are observed that long); the cure curve stays at 1/2: the young ones are cured, not forgotten."""
    as_of = date(2026, 4, 10)

    def episode(started: str, cured: int, days: int | None, end: str | None) -> dict[str, object]:
        return {"started_on": started, "cured": cured, "days_to_end": days, "end_state": end}

    episodes = [
        episode("2026-04-01", 1, 1, "M0"),
        episode("2026-04-01", 1, 1, "M0"),
        episode("2026-03-01", 0, None, None),  # still delinquent at the end of the data
        episode("2026-03-01", 0, 20, "CHARGED_OFF"),  # never cures: stays at risk while observed
    ]
    curve = F.cure_curve(episodes, as_of, 30)
    rates = [p["rate"] for p in curve]
    assert rates == sorted(rates)
    assert (rates[0], rates[1], rates[10], rates[30]) == (0.0, 0.5, 0.5, 0.5)
    assert (curve[1]["at_risk"], curve[10]["at_risk"], curve[30]["successes"]) == (4, 2, 2)
    # Nothing censored by day 1: the plain share and its Wilson interval.
    two_of_four = wilson(2, 4)
    assert (curve[1]["low"], curve[1]["high"]) == (
        pytest.approx(two_of_four.low, abs=1e-6),
        pytest.approx(two_of_four.high, abs=1e-6),
    )


def test_contacts_held_back_per_rule_cite_the_deciding_layers_source(tmp_path: Path) -> None:
    """held.sql counts each decision once (a record archived twice too) per jurisdiction, deciding
    layer, failed rule and outcome; the figures cite that layer's source, or say what Arrears' own
    check requires. C4 of the shared export: deferred by CN's hardship rule."""
    data, archive = export(tmp_path)
    folder = archive / "contacts" / "jurisdiction=US-REGF" / "dt=2026-03-09"
    folder.mkdir(parents=True)
    common = {"channel": "SMS", "occurred_at": "2026-03-09T02:00:00Z", "strategy": "s@1#x", "dpd": 9}
    held = [
        ("H1", "L6", "DEFERRED", "US-WA@2026.1", ["loan_open:PASS", "wa_communications_week:FAIL"]),
        ("H2", "L6", "DEFERRED", "US-WA@2026.1", ["loan_open:PASS", "wa_communications_week:FAIL"]),
        ("H3", "L6", "SUPPRESSED", "", ["loan_open:PASS", "contact_point_on_file:FAIL"]),
        ("H4", "L6", "DEFERRED", "US-REGF@2026.1", ["loan_open:PASS", "contact_hours:FAIL"]),
        ("H5", "L6", "SENT", "", ["loan_open:PASS", "contact_hours:PASS"]),
    ]
    rows = [
        {**common, "contact_id": c, "loan_id": loan, "status": s, "decided_by": by, "rules_checked": rules}
        for c, loan, s, by, rules in held
    ]
    for name, batch in (("a", rows), ("b", rows[:1])):  # H1 archived twice: counted once
        (folder / f"{name}.jsonl.gz").write_bytes(
            gzip.compress("".join(json.dumps(r) + "\n" for r in batch).encode())
        )
    figures = build_figures(data, archive, as_of=date(2026, 3, 31))
    found = {(r["decided_by"], r["rule"], r["status"]): (r["records"], r["loans"]) for r in figures["held"]}
    assert found == {
        ("CN@2026.1", "hardship", "DEFERRED"): (1, 1),
        ("US-WA@2026.1", "wa_communications_week", "DEFERRED"): (2, 1),
        ("(Arrears)", "contact_point_on_file", "SUPPRESSED"): (1, 1),
        ("US-REGF@2026.1", "contact_hours", "DEFERRED"): (1, 1),
    }
    sources = {r["rule"]: r["source"] for r in figures["held"]}
    assert sources["wa_communications_week"].startswith("RCW 19.16.250")
    assert sources["contact_hours"].startswith("12 CFR 1006.6(b)(1)(i)")
    assert sources["contact_point_on_file"].startswith("Arrears' own check: the borrower has the contact")
    assert sources["hardship"].startswith("Lender policy LENDER-CN-HS-1")
    page = render({**figures, "cost": None}, {"start": "2026-03-01", "days": 31, "seed": 7})
    assert "RCW 19.16.250" in page
    assert '<h2 id="held">' in page


def test_a_layer_the_rules_do_not_hold_is_reported_uncited() -> None:
    rows = [{"jurisdiction": "CN", "decided_by": "CN@1999.1", "rule": "hardship", "status": "DEFERRED"}]
    held = F.held_figures(rows, lambda layer, rule: "citation not recorded", {})
    assert held[0]["source"] == "citation not recorded"


def test_why_borrowers_are_late_counts_each_reason_per_arm_and_the_loans_resolved_by_hand(
    tmp_path: Path,
) -> None:
    data, archive = export(tmp_path)
    write_reasons(archive)
    rows = F.reason_figures(run(open_local(data, archive), "reasons"))
    assert [
        (r["strategy_arm"], r["kind"], r["reason"], r["requests"], r["loans"], r["resolved"]) for r in rows
    ] == [
        ("challenger", "dispute", "not given", 1, 1, 0),  # L5: M2 at the end
        ("challenger", "dispute", "wrong_amount", 1, 1, 1),  # L4: back in M0
        ("champion", "hardship", "illness", 3, 2, 1),  # L1 current again, L2 in M2
        ("champion", "hardship", "job_loss", 1, 1, 1),  # L3 repaid
    ]
    figures = build_figures(data, archive, as_of=date(2026, 4, 10), counted={"requests": {}})
    assert figures["reasons"] == rows
    page = render(figures, {"start": "2026-03-01", "end": "2026-04-10", "days": 40, "seed": 7})
    assert (
        "<td>CN</td><td>champion</td><td>hardship</td><td>illness</td><td>3</td><td>2</td><td>1</td>" in page
    )
    (tmp_path / "none").mkdir()
    empty = build_figures(*export(tmp_path / "none"), as_of=date(2026, 4, 10), counted={"requests": {}})
    assert "No borrower gave a reason" in render(
        empty, {"start": "2026-03-01", "end": "2026-04-10", "days": 40, "seed": 7}
    )
