"""`arrears-demo`: a reproducible loan book through simulated days on the local cloud (moto)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from localcloud.aws_env import use_local_aws


def print_outcomes(outcomes: dict[str, Any]) -> None:
    """The report's headline in a few lines: cure and roll rates per jurisdiction and arm, and the cost."""
    for jurisdiction, block in outcomes["per_jurisdiction"].items():
        for arm, figures in block["arms"].items():
            cure, roll = figures["cure_rate"], figures["roll_rate_m1_m2"]
            print(
                f"{jurisdiction:<8} {arm:<11} cure {cure['successes']}/{cure['trials']} "
                f"({100 * cure['rate']:.0f} %, 95 % CI {100 * cure['low']:.0f}-{100 * cure['high']:.0f}), "
                f"roll M1->M2 {roll['successes']}/{roll['trials']}"
            )
        for arm, test in block["cure_rate_against_champion"].items():
            verdict = "significant" if test["significant"] else "not significant"
            mde = test["minimum_detectable_effect"]
            print(
                f"{jurisdiction:<8} {arm} vs champion: {100 * test['difference']:+.1f} pts, "
                f"{p_value(test['p_value'])} ({verdict}; detectable: "
                f"{100 * mde if mde else float('nan'):.1f} pts)"
            )
    cost = outcomes["cost"]
    per_thousand = cost["usd_per_1000_loans"]
    unpriced = ", ".join(cost.get("not_priced", ()))
    print(
        f"cost at list prices: ${cost['total_usd']:.2f}, ${per_thousand or 0:.2f} per 1,000 loans"
        + (f" (a lower bound: not priced: {unpriced})" if unpriced else "")
    )


def p_value(p: float) -> str:
    """`p = 0.003`, and `p < 0.001` below what three decimals show (never `p = 0.00`)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears-demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    parser.add_argument("--loans", type=int, default=200, help="loans in the book (default: 200)")
    parser.add_argument("--days", type=int, default=60, help="simulated days (default: 60)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1), help="first day (ISO)")
    parser.add_argument(
        "--faults",
        type=float,
        default=None,
        help="share of AWS calls failing, per kind; 0: none (default: only 5 %% of the sends throttled)",
    )
    parser.add_argument(
        "--book", type=Path, default=None, help="a lender's book file to import and simulate (docs/import.md)"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the faults (default: 0)")
    parser.add_argument(
        "--fault-kinds", default="before,after,kill,lost", help="before, after, kill, lost (default: all)"
    )
    args = parser.parse_args(argv)
    use_local_aws()  # the demo only ever talks to moto
    from localcloud.faults import FaultPlan, send_throttles
    from localcloud.progress import DemoProgress
    from localcloud.simulation import run_demo

    faults = None
    if args.faults is None:  # the default demo: a few sends throttled, retried, judged at their retry
        faults = send_throttles(seed=args.fault_seed)
    elif args.faults:
        faults = FaultPlan(args.faults, args.fault_seed, tuple(k for k in args.fault_kinds.split(",") if k))
    with DemoProgress(args.start, args.days) as progress:
        summary = run_demo(
            out=args.out,
            loans=args.loans,
            days=args.days,
            seed=args.seed,
            start=args.start,
            faults=faults,
            progress=progress,
            book=args.book,
        )
    run = summary["run"]
    disbursed = summary.get("lending_core", {}).get("loans_registered", 0)
    print(
        f"Arrears demo: {run['loans']} loans"
        + (f" + {disbursed} disbursed during the run" if disbursed else "")
        + f", {run['days']} days from {run['start']} (seed {run['seed']}), {run['elapsed_seconds']} s"
    )
    if "book_import" in summary:
        imported = summary["book_import"]
        print(
            f"book imported:      {imported['rows_read']} rows read, {imported['imported']} imported, "
            f"{imported['rejected']} rejected (see {imported['report']['errors']} in the import bucket)"
        )
        for problem in imported["problems"]:
            print(
                f"  line {problem['line']} ({problem['record']} {problem['id']}): "
                f"{problem['field']}: {problem['problem']}"
            )
    print("loans by bucket:    " + ", ".join(f"{k} {v}" for k, v in summary["loans_by_bucket"].items()))
    census = summary["last_census"]
    if census:
        print(
            f"last census ({census['business_time']}): "
            + "; ".join(
                f"{jurisdiction} " + ", ".join(f"{b} {n}" for b, n in buckets.items())
                for jurisdiction, buckets in census["open_loans"].items()
            )
        )
    print(f"texts and e-mails:  {summary['texts_and_emails_sent']}")
    print(f"field visits queued:{summary['field_visits_queued']:>5}")
    deferred = summary["deferrals"]
    # Contacts held back are the deferral records; a send planned for the next contact window is a
    # planning decision, not a contact, and has no record.
    print(
        f"deferred:           {deferred['deferral_records']} deferral records "
        f"({deferred['deferred_at_send_time']} at send time, {deferred['held_by_planner']} held by the "
        f"planner: promise, hardship); {deferred['planned_outside_contact_hours']} sends planned for the "
        f"next contact window ({deferred['total']} deferrals in all)"
    )
    print(f"suppressed / cancelled: {summary['suppressed']} / {summary['cancelled']}")
    stated = summary["stated_figures"]
    print(
        f"figures at send:    {stated['sends']} sends state the debt as of their instant: "
        f"{stated['dpd_moved']} a later DPD than planned, {stated['amount_changed']} another amount "
        f"({stated['amount_lower']} lower: paid since)"
    )
    print(
        f"payments applied:   {summary['payments_applied']} ({summary['cures']} cures: a loan that cures "
        "and falls behind again counts each time; the cure rates below count delinquency episodes)"
    )
    plans = summary["plans"]
    print(
        f"repayment plans:    {plans['requested']} asked for by borrowers ({plans['auto_approved']} agreed "
        f"at once, {plans['supervisor_queued']} queued for a supervisor), "
        f"{plans['negotiated_on_desk_calls']} negotiated on desk calls; {plans['agreed']} agreed: "
        + ", ".join(f"{who} {n}" for who, n in plans["agreed_by"].items())
        + f"; {plans['instalments_kept']} instalments kept, {plans['broken']} broken, "
        f"{plans['completed']} completed"
    )
    payments = summary["payments"]
    recovered = payments["recoveries_after_charge_off"]
    amounts = ", ".join(
        f"{currency} {minor / 100:,.2f}" for currency, minor in recovered["recovered_minor"].items()
    )
    print(
        f"after charge-off:   {recovered['payments']} payment(s) recovered {amounts or 'nothing'} "
        f"on {recovered['loans']} of {payments['charged_off_loans']} charged-off loan(s); "
        f"reversals: {payments['reversals']['applied']}"
    )
    reacting = summary["borrower_behaviour"]
    promises = reacting["promises"]
    print(
        f"borrowers reacting: {promises['made']} promises ({promises['kept']} kept, {promises['broken']} "
        f"broken), {reacting['complaints']} complaint(s), "
        f"{reacting['intents'].get('opt_out', 0)} opt-out(s) by reply (docs/simulation.md)"
    )
    judged = summary.get("promises")
    if judged:
        print(
            f"promises judged:    {judged['made']} made on loans (a promise covers each loan it names), "
            f"{judged['kept']} kept, {judged['broken']} broken, {judged['not_judged']} not judged by the end "
            "(Arrears' archive: the report's promise-kept rate)"
        )
    said: Counter[str] = Counter()
    for row in summary.get("outcomes", {}).get("reasons_given", []):
        said[f"{row['kind']} {row['reason']}"] += int(row["requests"])
    if said:
        print("why late (said):    " + ", ".join(f"{reason} {n}" for reason, n in sorted(said.items())))
    breaches = summary["collector_rule_breaches"]
    print(
        f"collector breaches: {breaches['call_attempts']} call attempt(s), {breaches['field_visits']} field "
        "visit(s) broke a rule after the fact (alarm collector-rule-breach rings at 1)"
    )
    print(f"records archived:   {summary['records_archived']} in {summary['archive_objects']} objects")
    deadline = run["sweep_deadline_checks"]
    print(
        f"sweep deadline:     {deadline['days_finished_by_deadline']} days finished in time, "
        f"{deadline['late']} late checks"
    )
    injected = summary["faults"]
    if injected["rate"]:
        print(
            f"faults injected:    {injected['injected_total']} "
            f"at {injected['rate']:.0%} (seed {injected['seed']})"
        )
        refused = injected["refused_sends"]
        if refused["refused"]:
            print(
                f"sends throttled:    {refused['refused']} refused before the call; their retries: "
                + ", ".join(f"{status} {n}" for status, n in refused["then"].items())
                + f" ({refused['judged_at_a_later_instant']} judged again at the retry's later instant)"
            )
    notices = summary["validation_notices"]
    print(
        f"validation notices: {notices['sent']} sent ("
        + ", ".join(f"{how} {n}" for how, n in notices["by_delivery"].items())
        + f"), {notices['legal_held']} legal referral decision(s) held for the period "
        f"({notices['legal_waiting_for_a_first_notice']} posting the notice first: never communicated "
        f"about), {notices['us_referred_without_notice']} US referral(s) without a notice before"
    )
    legal = summary["legal"]
    print(
        f"legal:              {legal['legal_referrals_sent']} referral(s) sent, {legal['case_files_built']} "
        f"case file(s); {legal['legal_steps_suppressed_by_limitation']} suppressed as time-barred; "
        f"{len(legal['held_for_an_unknown_limitation_period_loans'])} debt(s) held: no limitation period "
        "known for the borrower's state"
    )
    limits = summary["dialer"]["contact_limits_from_archive"]
    print(
        f"frequency limits:   {limits['contacts_judged']} contacts judged from the archive alone, "
        f"{limits['violations_total']} over a limit (highest count: "
        + ", ".join(f"{rule} {n}" for rule, n in limits["highest_count_by_rule"].items())
        + ")"
    )
    checks = summary["invariants"]
    print("invariants:         " + ("all hold" if checks["ok"] else "BROKEN: " + ", ".join(checks["broken"])))
    print_outcomes(summary["outcomes"])
    print(
        f"wrote {args.out / 'report.html'} (open it in a browser), {args.out / 'summary.json'}, "
        f"{args.out / 'archive'}/ and {args.out / 'data'}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
