"""The court-ready case file of a legal referral: facts, money, identity and a provable contact history.

Assembled when a legal step is referred (`arrears.usecases.case_file`), as one JSON document (the
machine-readable file, `CASE_FILE_SCHEMA`) and a printable, self-contained HTML rendering of it:

- `contract`: the loan's terms as registered (principal, disbursement, product terms, penalty rate,
  cost cap with its citation);
- `schedule`: every instalment, what was due, paid, prepaid and waived (minor units);
- `payments`: the value-dated payment ledger, reversed payments included and marked;
- `claim`: what is claimed on the referral's business date, split into principal, interest, fees and
  penalty (a payoff quote: interest and fees accrued to that day, nothing for the time not borrowed),
  with the legal cap the interest, fees and penalty are held within and its citation;
- `borrower`: the identity (name, address, phone, e-mail). Personal data: the file lives only under
  the restricted `case-files/` prefix of the case-file bucket (`docs/compliance.md`, "Case files");
- `limitation`: the default date and the day the limitation period ends (a file is built only before);
- `contact_history`: the loan's archived contact records, exactly as archived (pseudonymised lines);
  `not_yet_archived`: its hot records the archiver has not taken yet (allow-listed fields, no proof);
- `proof`: the data objects that hold those records (their exact bytes, base64), every manifest of the
  jurisdiction's hash chain from the first one that holds a record of the loan to the newest one
  (each manifest's exact bytes), and the chain head as the chain table held it when the file was
  built. `verify` checks it; `VERIFICATION_PROCEDURE` says how anyone can, with sha256 alone.

Pure: bytes, dicts and dates in; a JSON-ready dict, HTML text or a list of problems out. Money is
integer minor units.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from arrears.domain.archive import Manifest, decode_lines
from arrears.domain.borrowers import Borrower
from arrears.domain.costcap import breach
from arrears.domain.ledger import LedgerEntry
from arrears.domain.limitation import LimitationRule, default_date, limitation_ends
from arrears.domain.loans import Loan
from arrears.domain.messages import format_amount
from arrears.domain.money import cap_state, payoff_quote

CASE_FILE_SCHEMA = "arrears.case-file/1"
CASE_FILE_PREFIX = "case-files/"

VERIFICATION_PROCEDURE = (
    "1. For each entry of proof.objects: base64-decode data; its SHA-256 (hex) must equal sha256.",
    "2. Gunzip each object: each line is one JSON record; every record of contact_history must be one "
    "line of the object named by its object_key (compare the parsed JSON).",
    "3. For each entry of proof.manifests (in seq order): its SHA-256 is the SHA-256 of body (UTF-8 "
    "bytes, exactly as given); parse body: for the manifest of an object, object_key, sha256 and the "
    "number of lines (records) must match that object.",
    "4. Each manifest's prev_manifest_sha256 must equal the SHA-256 of the manifest before it; seqs "
    "follow one another without a gap.",
    "5. The last manifest's SHA-256 must equal proof.anchor.manifest_sha256, the chain head read from "
    "the chain table when the file was built; a later head extends the same chain: fetch the "
    "manifests after it from the archive (write-once, Object Lock) and repeat step 4 to today's head.",
)


def case_file_keys(jurisdiction: str, loan_id: str, case_id: str) -> tuple[str, str]:
    """(JSON key, HTML key) of a case file: `case-files/jurisdiction=<J>/loan=<L>/<case id>.json|.html`."""
    base = f"{CASE_FILE_PREFIX}jurisdiction={jurisdiction}/loan={loan_id}/{case_id}"
    return f"{base}.json", f"{base}.html"


@dataclass(frozen=True, slots=True)
class ArchivedObject:
    """One data object of the archive (`key`, exact bytes) and its manifest (exact bytes)."""

    key: str
    data: bytes
    manifest: bytes


@dataclass(frozen=True, slots=True)
class ChainAnchor:
    """The jurisdiction's chain head as the chain table held it (seq, SHA-256 of its manifest)."""

    jurisdiction: str
    seq: int
    manifest_sha256: str


def sha256_hex(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _canonical(line: Mapping[str, Any]) -> str:
    return json.dumps(line, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def contact_proof(
    loan_id: str,
    objects: Sequence[ArchivedObject],
    manifests: Sequence[bytes],
    anchor: ChainAnchor,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The loan's archived records and the proof that holds them.

    `objects`: the data objects (with manifests) to look in; `manifests`: every manifest of the
    jurisdiction available in the archive (any order). Returns (records in time order, each with its
    `object_key`; the proof: the objects holding a record, the manifests from the first of those to the
    newest, the anchor). Raises ValueError when the manifests leave a gap in the chain.
    """
    records: list[dict[str, Any]] = []
    holding: list[ArchivedObject] = []
    for archived in sorted(objects, key=lambda each: each.key):
        mine = [line for line in decode_lines(archived.data) if line.get("loan_id") == loan_id]
        if mine:
            holding.append(archived)
            records += [{**line, "object_key": archived.key} for line in mine]
    records.sort(key=lambda line: (str(line.get("occurred_at", "")), str(line.get("contact_id", ""))))
    by_seq = {Manifest.from_bytes(body).seq: body for body in manifests}
    for archived in holding:
        by_seq.setdefault(Manifest.from_bytes(archived.manifest).seq, archived.manifest)
    first = min((Manifest.from_bytes(archived.manifest).seq for archived in holding), default=None)
    chain: list[bytes] = []
    if first is not None:
        last = max(by_seq)
        missing = [seq for seq in range(first, last + 1) if seq not in by_seq]
        if missing:
            raise ValueError(f"archive chain {anchor.jurisdiction}: manifests missing for seqs {missing[:5]}")
        chain = [by_seq[seq] for seq in range(first, last + 1)]
    proof = {
        "objects": [
            {
                "key": archived.key,
                "sha256": sha256_hex(archived.data),
                "data_base64": base64.b64encode(archived.data).decode(),
            }
            for archived in holding
        ],
        "manifests": [
            {
                "seq": Manifest.from_bytes(body).seq,
                "sha256": sha256_hex(body),
                "body": body.decode(),
            }
            for body in chain
        ],
        "anchor": {
            "jurisdiction": anchor.jurisdiction,
            "seq": Manifest.from_bytes(chain[-1]).seq if chain else anchor.seq,
            "manifest_sha256": sha256_hex(chain[-1]) if chain else anchor.manifest_sha256,
            "chain_head_seq": anchor.seq,
            "chain_head_sha256": anchor.manifest_sha256,
        },
        "procedure": list(VERIFICATION_PROCEDURE),
    }
    return records, proof


def _schedule(loan: Loan) -> list[dict[str, Any]]:
    return [
        {
            "seq": i.seq,
            "due_on": i.due_on.isoformat(),
            "pay_by": i.effective_due.isoformat(),
            "principal_due_minor": i.principal_due,
            "interest_due_minor": i.interest_due,
            "fee_due_minor": i.fee_due,
            "principal_paid_minor": i.principal_paid,
            "interest_paid_minor": i.interest_paid,
            "fee_paid_minor": i.fee_paid,
            "principal_prepaid_minor": i.principal_prepaid,
            "interest_waived_minor": i.interest_waived,
            "fee_waived_minor": i.fee_waived,
            "settled_on": i.settled_on.isoformat() if i.settled_on else None,
        }
        for i in loan.instalments
    ]


def claim_on(loan: Loan, on: date, cap_explanation: str) -> dict[str, Any]:
    """What is claimed on business date `on`, split into principal, interest, fees and penalty.

    The payoff quote of the day (`arrears.domain.money.payoff_quote`): interest and fees accrued to
    `on`, nothing for the time not borrowed. The interest, fees and penalty charged to date are held
    within the cost cap (`cap_explanation`: the rate and its source, as registered): the allowance to
    date and the amount charged are stated in whole minor units, rounded down as every amount owed is
    (`arrears.domain.money`); `within_cap` compares the exact amounts.
    """
    quote = payoff_quote(loan, on)
    cap = cap_state(loan, on)
    allowed = math.floor(cap.allowed)
    charged = math.floor(cap.charged)
    return {
        "as_of": on.isoformat(),
        "currency": loan.currency,
        "principal_minor": quote.principal_minor,
        "interest_minor": quote.interest_minor,
        "fee_minor": quote.fee_minor,
        "penalty_minor": quote.penalty_minor,
        "total_minor": quote.total_minor,
        "unearned_interest_not_claimed_minor": quote.rebate_minor,
        "cap": {
            "annual_rate_bps": loan.apr_cap_bps,
            "applies_to": "interest, fees and penalty together, per day on the principal outstanding",
            "source": cap_explanation,
            "allowance_to_date_minor": allowed,
            "charged_to_date_minor": charged,
            "within_cap": cap.charged <= cap.allowed and breach(loan) is None,
        },
    }


def build_case_file(
    *,
    case_id: str,
    loan: Loan,
    borrower: Borrower,
    payments: Sequence[LedgerEntry],
    on: date,
    referred_at: str,
    rule_pack: str,
    limitation: LimitationRule | None,
    limitation_source: str,
    cap_explanation: str,
    contact_history: Sequence[Mapping[str, Any]],
    not_yet_archived: Sequence[Mapping[str, Any]],
    proof: Mapping[str, Any],
) -> dict[str, Any]:
    """The case file of referral `case_id` (the legal action's id) as a JSON-ready dict.

    `on`: the referral's business date (the borrower's own date); `referred_at`: its instant (UTC,
    ISO 8601); `contact_history`/`proof` from `contact_proof`. Deterministic: the same inputs give
    the same document.
    """
    ends = limitation_ends(loan, limitation) if limitation is not None else None
    started = default_date(loan)
    return {
        "schema": CASE_FILE_SCHEMA,
        "case_id": case_id,
        "loan_id": loan.loan_id,
        "jurisdiction": loan.jurisdiction,
        "referred_at": referred_at,
        "rule_pack": rule_pack,
        "trust_boundary": (
            "RESTRICTED: holds the borrower's identity. Stored only under case-files/ of the case-file "
            "bucket (SSE-KMS), readable by the legal team's role; never logged, never archived."
        ),
        "limitation": {
            "default_on": started.isoformat() if started else None,
            "ends_on": ends.isoformat() if ends else None,
            "years": limitation.years if limitation else None,
            "source": limitation_source if limitation else "no limitation period known for this borrower",
        },
        "contract": {
            "loan_id": loan.loan_id,
            "currency": loan.currency,
            "principal_minor": loan.principal_minor,
            "disbursed_on": loan.disbursed_on.isoformat(),
            "instalments": len(loan.instalments),
            "penalty_daily_ppm": loan.penalty_daily_ppm,
            "cost_cap_bps": loan.apr_cap_bps,
            "cost_cap_source": cap_explanation,
            "terms": {
                "product": loan.terms.product,
                "waterfall": loan.terms.waterfall.value,
                "tolerance_minor": loan.terms.tolerance_minor,
                "charge_off_dpd": loan.terms.charge_off_dpd,
            },
            "original_default_on": loan.original_default_on.isoformat() if loan.original_default_on else None,
        },
        "schedule": _schedule(loan),
        "payments": [
            {
                "payment_id": entry.payment_id,
                "value_date": entry.value_date.isoformat(),
                "amount_minor": entry.amount_minor,
                "currency": entry.currency,
                "reversed": entry.reversed,
            }
            for entry in sorted(payments, key=lambda entry: entry.key)
        ],
        "claim": claim_on(loan, on, cap_explanation),
        "borrower": {
            "borrower_id": borrower.borrower_id,
            "name": borrower.name,
            "address": borrower.address,
            "phone": borrower.phone,
            "email": borrower.email,
            "region": borrower.region,
            "language": borrower.language,
        },
        "contact_history": [dict(line) for line in contact_history],
        "not_yet_archived": [dict(line) for line in not_yet_archived],
        "proof": dict(proof),
    }


def verify(case: Mapping[str, Any]) -> list[str]:
    """The problems found checking a case file's proof (`VERIFICATION_PROCEDURE`); empty when it holds."""
    problems: list[str] = []
    proof = case.get("proof") or {}
    objects: dict[str, list[str]] = {}
    for entry in proof.get("objects", []):
        data = base64.b64decode(entry["data_base64"])
        if sha256_hex(data) != entry["sha256"]:
            problems.append(f"object {entry['key']}: sha256 does not match its bytes")
        objects[entry["key"]] = [
            _canonical(json.loads(line)) for line in gzip.decompress(data).decode().splitlines() if line
        ]
    for line in case.get("contact_history", []):
        record = {name: value for name, value in line.items() if name != "object_key"}
        if _canonical(record) not in objects.get(str(line.get("object_key")), []):
            problems.append(f"record {line.get('contact_id')}: not a line of {line.get('object_key')}")
    previous: tuple[int, str] | None = None
    described: set[str] = set()
    for entry in proof.get("manifests", []):
        body = str(entry["body"]).encode()
        digest = sha256_hex(body)
        if digest != entry["sha256"]:
            problems.append(f"manifest seq {entry['seq']}: sha256 does not match its body")
        manifest = Manifest.from_bytes(body)
        if previous is not None:
            if manifest.seq != previous[0] + 1:
                problems.append(f"manifest seq {manifest.seq}: follows seq {previous[0]} (a gap)")
            if manifest.prev_manifest_sha256 != previous[1]:
                problems.append(f"manifest seq {manifest.seq}: does not link to seq {previous[0]}")
        if manifest.object_key in objects:
            described.add(manifest.object_key)
            if manifest.sha256 != sha256_hex(base64.b64decode(_object(proof, manifest.object_key))):
                problems.append(f"manifest seq {manifest.seq}: sha256 is not its object's")
            if manifest.records != len(objects[manifest.object_key]):
                problems.append(f"manifest seq {manifest.seq}: records do not match its object")
        previous = (manifest.seq, digest)
    for key in sorted(set(objects) - described):
        problems.append(f"object {key}: no manifest in the proof")
    anchor = proof.get("anchor") or {}
    if previous is not None and previous[1] != anchor.get("manifest_sha256"):
        problems.append("the last manifest is not the anchor")
    same_seq = previous is not None and anchor.get("chain_head_seq") == previous[0]
    if same_seq and previous is not None and anchor.get("chain_head_sha256") != previous[1]:
        problems.append("the chain head of the same seq has another manifest")
    return problems


def _object(proof: Mapping[str, Any], key: str) -> str:
    return next(str(entry["data_base64"]) for entry in proof.get("objects", []) if entry["key"] == key)


_CSS = """
body{font-family:Georgia,serif;margin:2em;color:#111;max-width:60em}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #bbb;padding:.25em .4em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.restricted{border:2px solid #900;padding:.5em;color:#900;font-weight:bold}
code{font-size:.8em;word-break:break-all}
@media print{body{margin:0}h2{page-break-after:avoid}table{page-break-inside:auto}}
"""


def _text(cell: object) -> str:
    return html.escape("" if cell is None else str(cell))


def _rows(
    header: Sequence[str], rows: Sequence[Sequence[object]], numeric: frozenset[int] = frozenset()
) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if index in numeric else ''}>{_text(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(case: Mapping[str, Any]) -> str:
    """A printable, self-contained HTML rendering of the case file (no script, no external resource)."""
    currency = str(case["contract"]["currency"])

    def money(minor: object) -> str:
        return format_amount(int(str(minor)), currency)

    claim = case["claim"]
    cap = claim["cap"]
    borrower = case["borrower"]
    limitation = case["limitation"]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>Case file {html.escape(case['loan_id'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Case file: loan {html.escape(case['loan_id'])}</h1>",
        f"<p class=restricted>{html.escape(case['trust_boundary'])}</p>",
        _rows(
            ["case", "jurisdiction", "referred at", "rule pack"],
            [[case["case_id"], case["jurisdiction"], case["referred_at"], case["rule_pack"]]],
        ),
        "<h2>Borrower</h2>",
        _rows(
            ["id", "name", "address", "phone", "e-mail"],
            [[borrower[k] for k in ("borrower_id", "name", "address", "phone", "email")]],
        ),
        "<h2>Amount claimed</h2>",
        _rows(
            ["as of", "principal", "interest", "fees", "penalty", "total"],
            [
                [
                    claim["as_of"],
                    *(
                        money(claim[k])
                        for k in (
                            "principal_minor",
                            "interest_minor",
                            "fee_minor",
                            "penalty_minor",
                            "total_minor",
                        )
                    ),
                ]
            ],
            frozenset({1, 2, 3, 4, 5}),
        ),
        f"<p>Legal cap: {cap['annual_rate_bps'] / 100:.2f} % a year on {_text(cap['applies_to'])}; "
        f"allowed to date {money(cap['allowance_to_date_minor'])}, "
        f"charged {money(cap['charged_to_date_minor'])} "
        f"({'within the cap' if cap['within_cap'] else 'OVER THE CAP'}). Source: {_text(cap['source'])}</p>",
        f"<p>Interest not yet earned, not claimed: "
        f"{money(claim['unearned_interest_not_claimed_minor'])}.</p>",
        "<h2>Limitation period</h2>",
        f"<p>Default on {html.escape(str(limitation['default_on']))}; the period ends on "
        f"{html.escape(str(limitation['ends_on']))}. Source: {html.escape(str(limitation['source']))}</p>",
        "<h2>Contract</h2>",
        _rows(
            ["principal", "disbursed on", "instalments", "penalty (ppm a day)", "waterfall"],
            [
                [
                    money(case["contract"]["principal_minor"]),
                    case["contract"]["disbursed_on"],
                    case["contract"]["instalments"],
                    case["contract"]["penalty_daily_ppm"],
                    case["contract"]["terms"]["waterfall"],
                ]
            ],
        ),
        "<h2>Schedule</h2>",
        _rows(
            ["#", "due", "principal", "interest", "fees", "paid", "settled on"],
            [
                [
                    row["seq"],
                    row["due_on"],
                    money(row["principal_due_minor"]),
                    money(row["interest_due_minor"]),
                    money(row["fee_due_minor"]),
                    money(row["principal_paid_minor"] + row["interest_paid_minor"] + row["fee_paid_minor"]),
                    row["settled_on"],
                ]
                for row in case["schedule"]
            ],
            frozenset({2, 3, 4, 5}),
        ),
        "<h2>Payments (value-dated ledger)</h2>",
        _rows(
            ["value date", "payment", "amount", "reversed"],
            [
                [p["value_date"], p["payment_id"], money(p["amount_minor"]), "yes" if p["reversed"] else ""]
                for p in case["payments"]
            ]
            or [["", "no payments", "", ""]],
            frozenset({2}),
        ),
        "<h2>Contact history (from the audit archive)</h2>",
        _rows(
            ["occurred at", "channel", "step", "status", "template", "rules decided by", "reason"],
            [
                [
                    line.get("occurred_at"),
                    line.get("channel"),
                    line.get("step"),
                    line.get("status"),
                    line.get("template_id"),
                    line.get("decided_by"),
                    line.get("reason"),
                ]
                for line in case["contact_history"]
            ],
        ),
        f"<p>Not yet archived (no proof yet): {len(case['not_yet_archived'])} record(s).</p>",
        "<h2>Proof that the contact history was not altered</h2>",
        _rows(
            ["manifest seq", "SHA-256"],
            [[entry["seq"], entry["sha256"]] for entry in case["proof"]["manifests"]],
        ),
        f"<p>Anchor: chain head seq {case['proof']['anchor']['chain_head_seq']}, "
        f"<code>{html.escape(str(case['proof']['anchor']['chain_head_sha256']))}</code>. "
        f"Data objects: {len(case['proof']['objects'])}.</p>",
        "<ol>",
        *(f"<li>{html.escape(step[3:])}</li>" for step in case["proof"]["procedure"]),
        "</ol></body></html>",
    ]
    return "\n".join(parts)
