"""Metro 2 (CDIA) consumer credit reporting: the 426-character records and the codes Arrears reports.

Source: the Consumer Data Industry Association's Credit Reporting Resource Guide (CRRG), "Metro 2
Format", character (unpacked) fixed-length records of 426 bytes: a Header Record, one Base Segment
per account, a Trailer Record with control totals. The CRRG itself is sold to furnishers and is not
public; the positions below follow its public summaries (the open-source Metro 2 implementations
moov-io/metro2 and teamupstart/metro_2 agree on them) and were not checked against the CRRG text.
What is verified: every record is 426 characters, fields are contiguous, the trailer's totals match
the base segments (tests/unit/metro2_validator.py checks each file independently of this table).

Formats: `N` numeric, right-justified, zero-filled; `AN` alphanumeric, left-justified, blank-filled,
upper case; `D` a date MMDDYYYY (zeros when none); `TS` a time stamp MMDDYYYYHHMMSS; monetary
fields are whole dollars, cents truncated (CRRG general rule).

Codes reported (CRRG "Account Status", "Payment Rating", "Payment History Profile", "Compliance
Condition Code", "Special Comment"):

* Account status: 11 current (0-29 days past due), 71 30-59, 78 60-89, 80 90-119, 82 120-149,
  83 150-179, 84 180 or more, 97 charged off (unpaid balance), 13 paid or closed (zero balance),
  64 paid in full after a charge-off.
* Payment rating (required with status 13): 0 current, 1-6 by 30-day band, L charged off.
* Payment history profile: 24 months, position 1 the month before the Date of Account Information;
  0 current, 1-6 by 30-day band, E zero balance and current, L charged off, B no history before
  the account opened, D no history reported for that month.
* Compliance condition code: XB disputed by the consumer (FCRA 623(a)(3)), XH previously disputed,
  dispute resolved (reported in the first cycle after the resolution).
* Special comment: AC "paying under a partial payment agreement" while a payment plan is in force
  (assumption: the CRRG code set was read from public summaries, not verified).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from arrears.domain.credit_facts import DisputeState, MonthEnd

RECORD_LENGTH = 426
LAYOUT_SOURCE = "CDIA Credit Reporting Resource Guide, Metro 2 Format (public summaries; not verified)"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a record: `name`, 1-based `start`, `length`, `fmt` (N, AN, D, TS)."""

    name: str
    start: int
    length: int
    fmt: str


def _layout(*fields: tuple[str, int, str]) -> tuple[Field, ...]:
    out: list[Field] = []
    start = 1
    for name, length, fmt in fields:
        out.append(Field(name, start, length, fmt))
        start += length
    if start - 1 != RECORD_LENGTH:
        raise ValueError(f"a Metro 2 layout adds up to {start - 1} characters, not {RECORD_LENGTH}")
    return tuple(out)


HEADER = _layout(
    ("record_descriptor_word", 4, "N"),
    ("record_identifier", 6, "AN"),
    ("cycle_identifier", 2, "AN"),
    ("innovis_program_identifier", 10, "AN"),
    ("equifax_program_identifier", 10, "AN"),
    ("experian_program_identifier", 5, "AN"),
    ("transunion_program_identifier", 10, "AN"),
    ("activity_date", 8, "D"),
    ("date_created", 8, "D"),
    ("program_date", 8, "D"),
    ("program_revision_date", 8, "D"),
    ("reporter_name", 40, "AN"),
    ("reporter_address", 96, "AN"),
    ("reporter_telephone", 10, "N"),
    ("software_vendor_name", 40, "AN"),
    ("software_version", 5, "AN"),
    ("reserved", 156, "AN"),
)

BASE = _layout(
    ("record_descriptor_word", 4, "N"),
    ("processing_indicator", 1, "N"),
    ("time_stamp", 14, "TS"),
    ("reserved_1", 1, "AN"),
    ("identification_number", 20, "AN"),
    ("cycle_identifier", 2, "AN"),
    ("consumer_account_number", 30, "AN"),
    ("portfolio_type", 1, "AN"),
    ("account_type", 2, "AN"),
    ("date_opened", 8, "D"),
    ("credit_limit", 9, "N"),
    ("highest_credit", 9, "N"),
    ("terms_duration", 3, "AN"),
    ("terms_frequency", 1, "AN"),
    ("scheduled_monthly_payment", 9, "N"),
    ("actual_payment_amount", 9, "N"),
    ("account_status", 2, "AN"),
    ("payment_rating", 1, "AN"),
    ("payment_history_profile", 24, "AN"),
    ("special_comment", 2, "AN"),
    ("compliance_condition_code", 2, "AN"),
    ("current_balance", 9, "N"),
    ("amount_past_due", 9, "N"),
    ("original_charge_off_amount", 9, "N"),
    ("date_of_account_information", 8, "D"),
    ("date_of_first_delinquency", 8, "D"),
    ("date_closed", 8, "D"),
    ("date_of_last_payment", 8, "D"),
    ("interest_type_indicator", 1, "AN"),
    ("reserved_2", 16, "AN"),
    ("consumer_transaction_type", 1, "AN"),
    ("surname", 25, "AN"),
    ("first_name", 20, "AN"),
    ("middle_name", 20, "AN"),
    ("generation_code", 1, "AN"),
    ("social_security_number", 9, "N"),
    ("date_of_birth", 8, "D"),
    ("telephone_number", 10, "N"),
    ("ecoa_code", 1, "AN"),
    ("consumer_information_indicator", 2, "AN"),
    ("country_code", 2, "AN"),
    ("address_line_1", 32, "AN"),
    ("address_line_2", 32, "AN"),
    ("city", 20, "AN"),
    ("state", 2, "AN"),
    ("postal_code", 9, "AN"),
    ("address_indicator", 1, "AN"),
    ("residence_code", 1, "AN"),
)

TRAILER_STATUS_COUNTS = (
    "DA", "05", "11", "13", "61", "62", "63", "64", "65", "71", "78", "80", "82", "83", "84",
    "88", "89", "93", "94", "95", "96", "97",
)  # fmt: skip
"""The account statuses the trailer totals, in its order (after DF, J1, J2 and the block count)."""

TRAILER = _layout(
    ("record_descriptor_word", 4, "N"),
    ("record_identifier", 7, "AN"),
    ("total_base_records", 9, "N"),
    ("reserved_1", 9, "AN"),
    ("total_status_df", 9, "N"),
    ("total_j1_segments", 9, "N"),
    ("total_j2_segments", 9, "N"),
    ("block_count", 9, "N"),
    *((f"total_status_{code.lower()}", 9, "N") for code in TRAILER_STATUS_COUNTS),
    ("total_ecoa_z", 9, "N"),
    ("total_n1_segments", 9, "N"),
    ("total_k1_segments", 9, "N"),
    ("total_k2_segments", 9, "N"),
    ("total_k3_segments", 9, "N"),
    ("total_k4_segments", 9, "N"),
    ("total_l1_segments", 9, "N"),
    ("total_ssn_all", 9, "N"),
    ("total_ssn_base", 9, "N"),
    ("total_ssn_j1", 9, "N"),
    ("total_ssn_j2", 9, "N"),
    ("total_dob_all", 9, "N"),
    ("total_dob_base", 9, "N"),
    ("total_dob_j1", 9, "N"),
    ("total_dob_j2", 9, "N"),
    ("total_telephone_numbers", 9, "N"),
    ("reserved_2", 19, "AN"),
)

# --- codes ---------------------------------------------------------------------------------------

DELINQUENT_STATUSES: tuple[tuple[int, str], ...] = (
    (180, "84"),
    (150, "83"),
    (120, "82"),
    (90, "80"),
    (60, "78"),
    (30, "71"),
)


def _band(dpd: int) -> int:
    """0 below 30 DPD, then 1-6 by 30-day band (6: 180 or more)."""
    return 0 if dpd < 30 else min(6, dpd // 30)


def account_status(snapshot: MonthEnd, *, charged_off_before: bool) -> str:
    """The Metro 2 account status of a loan at a month end (see the module's code list)."""
    if snapshot.status == "CLOSED":
        return "64" if charged_off_before else "13"
    if snapshot.status == "CHARGED_OFF":
        return "64" if snapshot.balance_minor == 0 else "97"
    return next((code for low, code in DELINQUENT_STATUSES if snapshot.dpd >= low), "11")


def payment_rating(status: str, snapshot: MonthEnd, previous: MonthEnd | None) -> str:
    """The payment rating a status requires (blank otherwise): with 13 (paid or closed), how late
    the account was before it was paid: the highest DPD of this period and the previous one."""
    if status != "13":
        return " "
    return str(_band(max(snapshot.highest_dpd, previous.highest_dpd if previous else 0)))


def profile_character(snapshot: MonthEnd | None, *, before_open: bool) -> str:
    """The payment history profile's character for one month (B / D / E / 0-6 / L)."""
    if snapshot is None:
        return "B" if before_open else "D"
    if snapshot.status == "CHARGED_OFF":
        return "L"
    if snapshot.balance_minor == 0 and snapshot.dpd < 30:
        return "E"
    return str(_band(snapshot.dpd))


def _month_before(period: str, months: int) -> str:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def payment_history_profile(period: str, opened: date, history: dict[str, MonthEnd]) -> str:
    """The 24-month profile for the cycle `period`: position 1 is the month before it."""
    opened_period = f"{opened.year:04d}-{opened.month:02d}"
    chars = []
    for back in range(1, 25):
        month = _month_before(period, back)
        chars.append(profile_character(history.get(month), before_open=month < opened_period))
    return "".join(chars)


def compliance_condition(snapshot: MonthEnd, dispute_changed_on: date | None, cycle_start: date) -> str:
    """XB while a dispute is open; XH in the first cycle after it was resolved; blank otherwise."""
    if snapshot.dispute is DisputeState.OPEN:
        return "XB"
    if snapshot.dispute is DisputeState.RESOLVED and dispute_changed_on is not None:
        return "XH" if dispute_changed_on >= cycle_start else "  "
    return "  "


def special_comment(snapshot: MonthEnd) -> str:
    """AC (paying under a partial payment agreement) while a payment plan is in force; else blank."""
    return "AC" if snapshot.plan and snapshot.status == "OPEN" else "  "


# --- records -------------------------------------------------------------------------------------


def _value(field: Field, value: object) -> str:
    if value is None or value == "":
        return ("0" if field.fmt in ("N", "D", "TS") else " ") * field.length
    if field.fmt == "D":
        if not isinstance(value, date):
            raise ValueError(f"Metro 2 {field.name}: a date is needed, got {type(value).__name__}")
        text = value.strftime("%m%d%Y")
    elif field.fmt == "TS":
        if not isinstance(value, datetime):
            raise ValueError(f"Metro 2 {field.name}: a datetime is needed")
        text = value.strftime("%m%d%Y%H%M%S")
    elif field.fmt == "N":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"Metro 2 {field.name}: a non-negative integer is needed")
        text = str(value).rjust(field.length, "0")
    else:
        text = "".join(c if c.isascii() and c.isprintable() else " " for c in str(value).upper())
        text = text[: field.length].ljust(field.length)
    if len(text) != field.length:
        raise ValueError(f"Metro 2 {field.name}: {len(text)} characters for a field of {field.length}")
    return text


def record(layout: Sequence[Field], values: dict[str, object]) -> str:
    """One 426-character record: each field of `layout` from `values` (missing: zeros or blanks)."""
    unknown = set(values) - {f.name for f in layout}
    if unknown:
        raise ValueError(f"Metro 2: no such field(s) {sorted(unknown)}")
    return "".join(_value(field, values.get(field.name)) for field in layout)


def field_value(layout: Sequence[Field], text: str, name: str) -> str:
    """The characters of field `name` in the record `text` of `layout`."""
    for f in layout:
        if f.name == name:
            return text[f.start - 1 : f.start - 1 + f.length]
    raise KeyError(name)


def dollars(minor: int) -> int:
    """Whole dollars from cents, cents truncated (the CRRG's rule for monetary fields)."""
    return max(0, minor) // 100


def trailer(base_records: Iterable[str], *, block_count: int = 0) -> str:
    """The trailer for the base segments `base_records`: the count and the totals by status, and
    the SSN, birth date and telephone counts (base segments only; Arrears writes no J1/J2/K/L/N1)."""
    bases = list(base_records)

    def cut(text: str, name: str) -> str:
        return field_value(BASE, text, name)

    statuses = Counter(cut(b, "account_status") for b in bases)
    ssn = sum(1 for b in bases if cut(b, "social_security_number").strip("0"))
    dob = sum(1 for b in bases if cut(b, "date_of_birth").strip("0"))
    phones = sum(1 for b in bases if cut(b, "telephone_number").strip("0"))
    values: dict[str, object] = {
        "record_descriptor_word": RECORD_LENGTH,
        "record_identifier": "TRAILER",
        "total_base_records": len(bases),
        "total_status_df": statuses.get("DF", 0),
        "block_count": block_count,
        **{f"total_status_{code.lower()}": statuses.get(code, 0) for code in TRAILER_STATUS_COUNTS},
        "total_ssn_all": ssn,
        "total_ssn_base": ssn,
        "total_dob_all": dob,
        "total_dob_base": dob,
        "total_telephone_numbers": phones,
    }
    for name in ("total_j1_segments", "total_j2_segments", "total_ecoa_z", "total_n1_segments"):
        values[name] = 0
    return record(TRAILER, values)


__all__ = [
    "BASE",
    "HEADER",
    "LAYOUT_SOURCE",
    "RECORD_LENGTH",
    "TRAILER",
    "TRAILER_STATUS_COUNTS",
    "Field",
    "account_status",
    "compliance_condition",
    "dollars",
    "field_value",
    "payment_history_profile",
    "payment_rating",
    "profile_character",
    "record",
    "special_comment",
    "trailer",
]
