"""An independent Metro 2 validator: checks a file field by field against the published layout.

Written from the public summaries of the CDIA Credit Reporting Resource Guide's 426-character
(unpacked, fixed-length) Header Record, Base Segment and Trailer Record, as the open-source
moov-io/metro2 (Go) and teamupstart/metro_2 (Ruby) libraries publish them. It deliberately does not
import Arrears' own layout (`arrears.domain.metro2`): both tables are typed in separately, so a
wrong position in one is caught by the other. No maintained Metro 2 library installs for Python here
(PyPI has none; moov-io/metro2 is Go), so the file is checked by this validator alone.

`validate(text)` returns the problems found (empty: the file is valid): each names the record (line
number) and the field by its CRRG field number and name.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

# (CRRG field, name, first position, last position, type); types: N numeric, A alphanumeric,
# D date MMDDYYYY (zeros allowed when the field is optional), T time stamp MMDDYYYYHHMMSS.
HEADER_FIELDS = [
    ("1", "Record Descriptor Word", 1, 4, "N"),
    ("2", "Record Identifier", 5, 10, "A"),
    ("3", "Cycle Number", 11, 12, "A"),
    ("4", "Innovis Program Identifier", 13, 22, "A"),
    ("5", "Equifax Program Identifier", 23, 32, "A"),
    ("6", "Experian Program Identifier", 33, 37, "A"),
    ("7", "TransUnion Program Identifier", 38, 47, "A"),
    ("8", "Activity Date", 48, 55, "D"),
    ("9", "Date Created", 56, 63, "D"),
    ("10", "Program Date", 64, 71, "D"),
    ("11", "Program Revision Date", 72, 79, "D"),
    ("12", "Reporter Name", 80, 119, "A"),
    ("13", "Reporter Address", 120, 215, "A"),
    ("14", "Reporter Telephone Number", 216, 225, "N"),
    ("15", "Software Vendor Name", 226, 265, "A"),
    ("16", "Software Version Number", 266, 270, "A"),
    ("17", "Reserved", 271, 426, "A"),
]

BASE_FIELDS = [
    ("1", "Record Descriptor Word", 1, 4, "N"),
    ("2", "Processing Indicator", 5, 5, "N"),
    ("3", "Time Stamp", 6, 19, "T"),
    ("4", "Reserved", 20, 20, "A"),
    ("5", "Identification Number", 21, 40, "A"),
    ("6", "Cycle Identifier", 41, 42, "A"),
    ("7", "Consumer Account Number", 43, 72, "A"),
    ("8", "Portfolio Type", 73, 73, "A"),
    ("9", "Account Type", 74, 75, "A"),
    ("10", "Date Opened", 76, 83, "D"),
    ("11", "Credit Limit", 84, 92, "N"),
    ("12", "Highest Credit or Original Loan Amount", 93, 101, "N"),
    ("13", "Terms Duration", 102, 104, "A"),
    ("14", "Terms Frequency", 105, 105, "A"),
    ("15", "Scheduled Monthly Payment Amount", 106, 114, "N"),
    ("16", "Actual Payment Amount", 115, 123, "N"),
    ("17A", "Account Status", 124, 125, "A"),
    ("17B", "Payment Rating", 126, 126, "A"),
    ("18", "Payment History Profile", 127, 150, "A"),
    ("19", "Special Comment", 151, 152, "A"),
    ("20", "Compliance Condition Code", 153, 154, "A"),
    ("21", "Current Balance", 155, 163, "N"),
    ("22", "Amount Past Due", 164, 172, "N"),
    ("23", "Original Charge-off Amount", 173, 181, "N"),
    ("24", "Date of Account Information", 182, 189, "D"),
    ("25", "FCRA Compliance/Date of First Delinquency", 190, 197, "D"),
    ("26", "Date Closed", 198, 205, "D"),
    ("27", "Date of Last Payment", 206, 213, "D"),
    ("28", "Interest Type Indicator", 214, 214, "A"),
    ("29", "Reserved", 215, 230, "A"),
    ("30", "Consumer Transaction Type", 231, 231, "A"),
    ("31", "Surname", 232, 256, "A"),
    ("32", "First Name", 257, 276, "A"),
    ("33", "Middle Name", 277, 296, "A"),
    ("34", "Generation Code", 297, 297, "A"),
    ("35", "Social Security Number", 298, 306, "N"),
    ("36", "Date of Birth", 307, 314, "D"),
    ("37", "Telephone Number", 315, 324, "N"),
    ("38", "ECOA Code", 325, 325, "A"),
    ("39", "Consumer Information Indicator", 326, 327, "A"),
    ("40", "Country Code", 328, 329, "A"),
    ("41", "First Line of Address", 330, 361, "A"),
    ("42", "Second Line of Address", 362, 393, "A"),
    ("43", "City", 394, 413, "A"),
    ("44", "State", 414, 415, "A"),
    ("45", "Postal/Zip Code", 416, 424, "A"),
    ("46", "Address Indicator", 425, 425, "A"),
    ("47", "Residence Code", 426, 426, "A"),
]

# Trailer: RDW, "TRAILER", total base records, reserved, then 9-digit totals, reserved 19.
TRAILER_TOTALS = [
    "Total Status Code DF", "Total J1 Segments", "Total J2 Segments", "Block Count",
    "Total Status Code DA", "Total Status Code 05", "Total Status Code 11", "Total Status Code 13",
    "Total Status Code 61", "Total Status Code 62", "Total Status Code 63", "Total Status Code 64",
    "Total Status Code 65", "Total Status Code 71", "Total Status Code 78", "Total Status Code 80",
    "Total Status Code 82", "Total Status Code 83", "Total Status Code 84", "Total Status Code 88",
    "Total Status Code 89", "Total Status Code 93", "Total Status Code 94", "Total Status Code 95",
    "Total Status Code 96", "Total Status Code 97", "Total ECOA Code Z", "Total N1 Segments",
    "Total K1 Segments", "Total K2 Segments", "Total K3 Segments", "Total K4 Segments",
    "Total L1 Segments", "Total Social Security Numbers", "Total SSNs in Base", "Total SSNs in J1",
    "Total SSNs in J2", "Total Dates of Birth", "Total DOBs in Base", "Total DOBs in J1",
    "Total DOBs in J2", "Total Telephone Numbers",
]  # fmt: skip


def _trailer_fields() -> list[tuple[str, str, int, int, str]]:
    fields = [
        ("1", "Record Descriptor Word", 1, 4, "N"),
        ("2", "Record Identifier", 5, 11, "A"),
        ("3", "Total Base Records", 12, 20, "N"),
        ("4", "Reserved", 21, 29, "A"),
    ]
    start = 30
    for n, name in enumerate(TRAILER_TOTALS, start=5):
        fields.append((str(n), name, start, start + 8, "N"))
        start += 9
    fields.append((str(5 + len(TRAILER_TOTALS)), "Reserved", start, 426, "A"))
    return fields


TRAILER_FIELDS = _trailer_fields()

ACCOUNT_STATUSES = {
    "DA", "DF", "05", "11", "13", "61", "62", "63", "64", "65", "71", "78", "80", "82", "83", "84",
    "88", "89", "93", "94", "95", "96", "97",
}  # fmt: skip
DELINQUENT = {"71", "78", "80", "82", "83", "84"}
PAYMENT_RATINGS = set("0123456GL")
PROFILE_CHARACTERS = set("0123456BDEGHJKL")
COMPLIANCE_CODES = {"  ", "XA", "XB", "XC", "XD", "XE", "XF", "XG", "XH", "XJ", "XR"}
PORTFOLIO_TYPES = set("CIMOR")
TERMS_FREQUENCIES = set("DPWBEMLQTSY")
ECOA_CODES = set("12357ABCTXWZ")
SPECIAL_COMMENTS_USED = {"  ", "AC", "AU", "CP", "M", "B"}


def _field(record: str, first: int, last: int) -> str:
    return record[first - 1 : last]


def _date_ok(text: str, *, optional: bool = True) -> bool:
    if text == "00000000":
        return optional
    try:
        date(int(text[4:8]), int(text[0:2]), int(text[2:4]))
    except ValueError:
        return False
    return True


def _typed(record: str, fields: list[tuple[str, str, int, int, str]], where: str) -> list[str]:
    problems = []
    expected = 1
    for number, name, first, last, kind in fields:
        if first != expected:
            problems.append(f"{where}: layout gap before field {number} {name}")
        expected = last + 1
        value = _field(record, first, last)
        if kind == "N" and not value.isdigit():
            problems.append(f"{where}: field {number} {name} is not numeric: {value!r}")
        elif kind == "D" and not (value.isdigit() and _date_ok(value)):
            problems.append(f"{where}: field {number} {name} is not a date MMDDYYYY: {value!r}")
        elif kind == "T" and not (value.isdigit() and _date_ok(value[:8], optional=False)):
            problems.append(f"{where}: field {number} {name} is not a time stamp: {value!r}")
        elif kind == "A" and (value != value.upper() or not all(" " <= c <= "~" for c in value)):
            problems.append(f"{where}: field {number} {name} is not upper-case printable ASCII: {value!r}")
    if expected != 427:
        problems.append(f"{where}: the layout ends at {expected - 1}, not 426")
    return problems


def _base(record: str, where: str) -> list[str]:
    problems = _typed(record, BASE_FIELDS, where)
    if problems:
        return problems

    def value(number: str) -> str:
        for n, _, first, last, _kind in BASE_FIELDS:
            if n == number:
                return _field(record, first, last)
        raise KeyError(number)

    status, rating = value("17A"), value("17B")
    if value("1") != "0426":
        problems.append(f"{where}: record descriptor word {value('1')!r} is not 0426")
    if value("2") != "1":
        problems.append(f"{where}: processing indicator must be 1")
    if not value("5").strip():
        problems.append(f"{where}: identification number is blank")
    if not value("7").strip():
        problems.append(f"{where}: consumer account number is blank")
    if value("8") not in PORTFOLIO_TYPES:
        problems.append(f"{where}: portfolio type {value('8')!r}")
    if value("14") not in TERMS_FREQUENCIES:
        problems.append(f"{where}: terms frequency {value('14')!r}")
    if status not in ACCOUNT_STATUSES:
        problems.append(f"{where}: account status {status!r} is not a Metro 2 status")
    if status in {"13", "65", "88", "89", "94", "95", "05"} and rating not in PAYMENT_RATINGS:
        problems.append(f"{where}: status {status} needs a payment rating, got {rating!r}")
    if status not in {"13", "65", "88", "89", "94", "95", "05"} and rating != " ":
        problems.append(f"{where}: status {status} takes no payment rating, got {rating!r}")
    if not set(value("18")) <= PROFILE_CHARACTERS:
        problems.append(f"{where}: payment history profile {value('18')!r} has an unknown character")
    if value("19") not in SPECIAL_COMMENTS_USED:
        problems.append(f"{where}: special comment {value('19')!r}")
    if value("20") not in COMPLIANCE_CODES:
        problems.append(f"{where}: compliance condition code {value('20')!r}")
    dofd = value("25")
    if status in DELINQUENT | {"97"} and dofd == "00000000":
        problems.append(f"{where}: status {status} needs the date of first delinquency")
    if status == "11" and dofd != "00000000":
        problems.append(f"{where}: a current account (11) reports no date of first delinquency")
    if status in DELINQUENT | {"97"} and int(value("22")) == 0:
        problems.append(f"{where}: status {status} with no amount past due")
    if status in {"13", "64"} and int(value("21")) != 0:
        problems.append(f"{where}: status {status} (paid) with a balance")
    if status in {"64", "97"} and int(value("23")) == 0:
        problems.append(f"{where}: status {status} without the original charge-off amount")
    if status in {"13", "64"} and value("26") == "00000000":
        problems.append(f"{where}: status {status} without the date closed")
    if value("24") == "00000000":
        problems.append(f"{where}: no date of account information")
    if value("38") not in ECOA_CODES:
        problems.append(f"{where}: ECOA code {value('38')!r}")
    if not value("31").strip():
        problems.append(f"{where}: surname is blank")
    return problems


def validate(text: str) -> list[str]:
    """Every problem in the Metro 2 file `text` (one record a line); [] when it is valid."""
    lines = text.rstrip("\n").split("\n")
    problems = [
        f"record {n}: {len(line)} characters, not 426" for n, line in enumerate(lines, 1) if len(line) != 426
    ]
    if problems:
        return problems
    if len(lines) < 2:
        return ["a file needs a header and a trailer"]
    head, bases, tail = lines[0], lines[1:-1], lines[-1]
    problems += _typed(head, HEADER_FIELDS, "header")
    if _field(head, 1, 4) != "0426" or _field(head, 5, 10) != "HEADER":
        problems.append("header: not a HEADER record of 426")
    for n, base in enumerate(bases, 2):
        problems += _base(base, f"record {n}")
    problems += _typed(tail, TRAILER_FIELDS, "trailer")
    if problems:
        return problems
    if _field(tail, 5, 11) != "TRAILER":
        problems.append("trailer: record identifier is not TRAILER")
    totals = {
        name: int(_field(tail, first, last)) for _, name, first, last, kind in TRAILER_FIELDS if kind == "N"
    }
    if totals["Total Base Records"] != len(bases):
        problems.append(f"trailer: {totals['Total Base Records']} base records, the file has {len(bases)}")
    statuses = Counter(_field(b, 124, 125) for b in bases)
    for name, total in totals.items():
        match = re.fullmatch(r"Total Status Code (\w\w)", name)
        if match and total != statuses.get(match[1], 0):
            problems.append(f"trailer: {name} is {total}, the file has {statuses.get(match[1], 0)}")
    checks = {
        "Total SSNs in Base": sum(1 for b in bases if int(_field(b, 298, 306))),
        "Total DOBs in Base": sum(1 for b in bases if int(_field(b, 307, 314))),
        "Total Telephone Numbers": sum(1 for b in bases if int(_field(b, 315, 324))),
    }
    for name, count in checks.items():
        if totals[name] != count:
            problems.append(f"trailer: {name} is {totals[name]}, the file has {count}")
    return problems
