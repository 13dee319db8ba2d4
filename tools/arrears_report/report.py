"""Build the collection-outcome figures of a run and write them as one self-contained `report.html`.

`build_figures` runs the SQL of `arrears_report/sql/` on DuckDB over a run's exported files and
computes the figures (`arrears_report.figures`) per jurisdiction and strategy arm; `write_report`
draws the charts with matplotlib as inline SVG and renders `templates/report.html.j2`: no script,
no stylesheet, font or image from the network (the page opens offline).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from arrears.config.rulepacks import bundled_rule_packs
from arrears.domain.compliance import OWN_CHECKS
from arrears_report import figures as F
from arrears_report.cost import run_cost
from arrears_report.stats import Proportion, wilson
from arrears_report.tables import QUERIES, open_local, run

_RATE_COUNTS = frozenset(
    {"call_attempts", "right_party_contacts", "promises", "promises_kept", "complaints", "opt_outs"}
)


def build_figures(
    data: Path,
    archive: Path,
    *,
    as_of: date,
    counted: Mapping[str, Any] | None = None,
    invocations: int = 0,
    behaviour: Mapping[tuple[str, str], Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Every figure of the report, as JSON-able values (also written to summary.json's `outcomes`).

    The counts behind the contact-outcome rates (`call_attempts`, `right_party_contacts`,
    `promises`, `promises_kept`, `complaints`, `opt_outs`; `figures.outcome_rates`) are the
    archive's, per jurisdiction and arm (sql/outcomes.sql, the same on Athena). `behaviour`: per
    (jurisdiction, arm), counts of acts the archive cannot hold, added to them (the fast path's
    modelled borrowers, whose promises, complaints and opt-outs never reach Arrears)."""
    con = open_local(data, archive)
    rows = {name: run(con, name) for name in QUERIES}
    measured: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_RATE_COUNTS, 0))
    for row in rows["outcomes"]:
        counts = measured[(str(row["jurisdiction"]), str(row["strategy_arm"]))]
        for key in _RATE_COUNTS:
            counts[key] += int(row[key] or 0)
    for group, extra in (behaviour or {}).items():
        for key in _RATE_COUNTS:
            measured[group][key] += int(extra.get(key, 0))
    loans = sum(int(r["loans"]) for r in rows["book"])
    jurisdictions = sorted({str(r["jurisdiction"]) for r in rows["book"]})
    arms = sorted({str(r["strategy_arm"]) for r in rows["book"]}, key=lambda a: (a != F.CHAMPION, a))
    by_group: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for episode in rows["episodes"]:
        by_group[(str(episode["jurisdiction"]), str(episode["strategy_arm"]))].append(episode)
    # Contacts made with the borrower (contacts.sql `made`): not the tasks queued, nor hand-offs.
    contacts_made: defaultdict[tuple[str, str], int] = defaultdict(int)
    for row in rows["contacts"]:
        contacts_made[(str(row["jurisdiction"]), str(row["strategy_arm"]))] += int(row["made"] or 0)
    max_days = max(
        (int(r["days_to_end"]) for r in rows["episodes"] if r["days_to_end"] is not None), default=0
    )
    per_jurisdiction: dict[str, Any] = {}
    for jurisdiction in jurisdictions:
        loans_by_arm: defaultdict[str, int] = defaultdict(int)
        for r in rows["book"]:
            if r["jurisdiction"] == jurisdiction:
                loans_by_arm[str(r["strategy_arm"])] += int(r["loans"])
        arm_figures: dict[str, Any] = {}
        cures: dict[str, Proportion] = {}
        rolls: dict[str, Proportion] = {}
        for arm in arms:
            if not loans_by_arm.get(arm):
                continue
            episodes = by_group.get((jurisdiction, arm), [])
            matrix = F.roll_matrix(rows["roll_rates"], jurisdiction, arm)
            roll = F.roll_rate(matrix, "M1", "M2")
            cure = F.cure_figures(episodes)
            cures[arm] = wilson(cure["cure_rate"]["successes"], cure["cure_rate"]["trials"])
            rolls[arm] = roll
            arm_figures[arm] = {
                "loans": loans_by_arm[arm],
                **cure,
                "roll_rate_m1_m2": F.interval(roll),
                "contacts_made": contacts_made[(jurisdiction, arm)],
                "cure_curve": F.cure_curve(episodes, as_of, max_days),
                **F.outcome_rates(
                    contacts=contacts_made[(jurisdiction, arm)], **measured[(jurisdiction, arm)]
                ),
            }
        per_jurisdiction[jurisdiction] = {
            "arms": arm_figures,
            "cure_rate_against_champion": F.compare_arms(cures),
            "roll_rate_m1_m2_against_champion": F.compare_arms(rolls),
            "roll_rates": F.roll_matrix(rows["roll_rates"], jurisdiction),
        }
    result: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "loans": loans,
        "jurisdictions": jurisdictions,
        "arms": arms,
        "book": rows["book"],
        "per_jurisdiction": per_jurisdiction,
        "roll_rates": F.roll_matrix(rows["roll_rates"]),
        "bucket_stock": rows["bucket_stock"],
        "delinquency_rates": F.delinquency_rates(rows["bucket_stock"]),
        "vintages": rows["vintages"],
        "contacts": rows["contacts"],
        "recoveries": F.recovery_figures(rows["recoveries"]),
        "plans": F.plan_figures(rows["plans"]),
        # Why borrowers said they were late (hardship and dispute reasons, codes only).
        "reasons": F.reason_figures(rows["reasons"]),
        # Who held contacts back and under which source (the deployed rule packs' own citations).
        "held": F.held_figures(rows["held"], bundled_rule_packs().citation, OWN_CHECKS),
    }
    if counted is not None:
        result["cost"] = run_cost(counted, invocations, loans, int(counted.get("sms_messages", 0)))
    return result


# -- charts ----------------------------------------------------------------------------------------

_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _svg(fig: Any, name: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return _SVG_METADATA.sub("", _SVG_HEAD.sub("", buffer.getvalue(), count=1), count=1)


def _figure(width: float = 7.0, height: float = 3.4) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def chart_bucket_stock(figures: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in figures["bucket_stock"]:
        totals[str(row["state"])][str(row["day"])] += int(row["loans"])
    days = sorted({str(r["day"]) for r in figures["bucket_stock"]})
    states = F.state_order(totals)
    if days:
        x = [date.fromisoformat(d) for d in days]
        ax.stackplot(x, [[totals[s].get(d, 0) for d in days] for s in states], labels=states, alpha=0.85)
        ax.legend(loc="upper left", fontsize=7, ncol=4)
        fig.autofmt_xdate()
    ax.set_ylabel("loans")
    ax.set_title("Bucket stock over time (all jurisdictions)")
    return _svg(fig, "bucket_stock")


def chart_roll_rates(figures: Mapping[str, Any]) -> str:
    matrix = figures["roll_rates"]
    states = matrix["states"] or ["M0"]
    sources = [s for s in states if s in matrix["rates"]] or states
    fig, ax = _figure(6.0, 3.6)
    grid = [[matrix["rates"].get(s, {}).get(t, 0.0) for t in states] for s in sources]
    image = ax.imshow(grid, cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(states)), states, fontsize=8)
    # Each row's count of stays: a share of 3 is not a share of 3,000.
    totals = [sum(matrix["counts"].get(s, {}).values()) for s in sources]
    ax.set_yticks(
        range(len(sources)), [f"{s} (n={n})" for s, n in zip(sources, totals, strict=True)], fontsize=8
    )
    ax.set_xlabel("next state")
    ax.set_ylabel("from state (stays counted)")
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set_title("Roll-rate matrix (share of the stays in a state, all jurisdictions)")
    return _svg(fig, "roll_rates")


def chart_cure_curves(figures: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    for jurisdiction, block in figures["per_jurisdiction"].items():
        for arm, values in block["arms"].items():
            curve = values["cure_curve"]
            if not curve:
                continue
            x = [p["day"] for p in curve]
            line = ax.plot(x, [p["rate"] for p in curve], label=f"{jurisdiction} {arm}")[0]
            ax.fill_between(
                x, [p["low"] for p in curve], [p["high"] for p in curve], alpha=0.15, color=line.get_color()
            )
    ax.set_xlabel("days since entering delinquency")
    ax.set_ylabel("cured within k days (Kaplan-Meier, 95 % band)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Cure curves per strategy arm")
    return _svg(fig, "cure_curves")


def chart_vintages(figures: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in figures["vintages"]:
        start = date.fromisoformat(f"{row['vintage']}-01")
        age = (date.fromisoformat(str(row["day"])) - start).days
        curves[str(row["vintage"])].append(
            (age, int(row["ever_30_dpd"]) / int(row["loans"]) if row["loans"] else 0.0)
        )
    for vintage, points in sorted(curves.items()):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=vintage)
    ax.set_xlabel("days since the start of the disbursement month")
    ax.set_ylabel("share ever 30+ DPD")
    ax.legend(fontsize=7, title="vintage", title_fontsize=7)
    ax.set_title("Vintage curves")
    return _svg(fig, "vintages")


def chart_contacts(figures: Mapping[str, Any]) -> str:
    fig, ax = _figure()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in figures["contacts"]:
        counts[str(row["channel"])][str(row["status"])] += int(row["contacts"])
    channels = sorted(counts)
    statuses = sorted({s for c in counts.values() for s in c})
    left = [0] * len(channels)
    for status in statuses:
        values = [counts[c].get(status, 0) for c in channels]
        ax.barh(channels or [""], values or [0], left=left or [0], label=status)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("contact records")
    if statuses:
        ax.legend(fontsize=7)
    ax.set_title("Contacts by channel and status")
    return _svg(fig, "contacts")


def chart_cost(figures: Mapping[str, Any]) -> str:
    fig, ax = _figure(7.0, 3.0)
    cost = figures.get("cost") or {"usd_by_price": {}}
    names = list(cost["usd_by_price"]) or ["(not counted)"]
    values = list(cost["usd_by_price"].values()) or [0.0]
    ax.barh(names, values)
    ax.set_xlabel("USD for the run (list prices)")
    ax.set_title("Cost by AWS price")
    return _svg(fig, "cost")


PLAN_BARS = (
    ("asked", "asked for"),
    ("agreed_auto", "agreed: auto"),
    ("agreed_agent", "agreed: agent"),
    ("agreed_supervisor", "agreed: supervisor"),
    ("instalments_kept", "instalments kept"),
    ("instalments_missed", "instalments missed"),
    ("broken", "broken"),
    ("completed", "completed"),
)


def chart_plans(figures: Mapping[str, Any]) -> str:
    fig, ax = _figure(7.0, 3.4)
    rows = figures["plans"] or [{"jurisdiction": "(no plan)", **{k: 0 for k, _ in PLAN_BARS}}]
    width = 0.8 / len(rows)
    for n, row in enumerate(rows):
        x = [i + n * width for i in range(len(PLAN_BARS))]
        ax.bar(x, [int(row[k]) for k, _ in PLAN_BARS], width, label=str(row["jurisdiction"]))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(PLAN_BARS))], [label for _, label in PLAN_BARS])
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.set_ylabel("count")
    ax.set_ylim(bottom=0)
    if figures["plans"]:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no repayment plan in this run", transform=ax.transAxes, ha="center", va="center")
    ax.set_title("Repayment plans per jurisdiction (from the archive)")
    return _svg(fig, "plans")


CHARTS = {
    "bucket_stock": chart_bucket_stock,
    "roll_rates": chart_roll_rates,
    "cure_curves": chart_cure_curves,
    "vintages": chart_vintages,
    "contacts": chart_contacts,
    "plans": chart_plans,
    "cost": chart_cost,
}


def render(figures: Mapping[str, Any], run: Mapping[str, Any] | None = None) -> str:
    """The report page (HTML text) of `figures`."""
    import jinja2

    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("arrears_report").joinpath("templates", "report.html.j2").read_text()
    )
    charts = {name: draw(figures) for name, draw in CHARTS.items()}
    return template.render(f=figures, run=run or {}, charts=charts)


def write_report(figures: Mapping[str, Any], path: Path, run: Mapping[str, Any] | None = None) -> Path:
    path.write_text(render(figures, run))
    return path


__all__ = ["CHARTS", "build_figures", "render", "write_report"]
