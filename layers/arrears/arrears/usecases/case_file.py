"""Build the court case file of a legal referral, once (`arrears.domain.case_file` has its contents).

Triggered by each `LEGAL_REFERRAL` the dispatcher publishes (the legal topic -> the case-file queue ->
the case-file function), and on demand by `arrears-legal case`. Reads, inside the trust boundary:
the loan, the borrower (identity), the payment ledger, the loan's hot contact records, the archive's
manifests and the data objects that may hold the loan's records (every object of the loan's
jurisdiction from the day before disbursement on; the archive is read, never written), and the chain
head. The archive is write-once, so a container reads each of its objects once (`ArchiveCatalogue`):
without that, every referral re-read the whole jurisdiction's archive and a book's case files cost
its referrals times its archive (645,755 GetObject requests for 586 files at 4,000 loans x 180
days). Writes the JSON and its HTML rendering to the restricted case-file bucket with a conditional
put: a redelivered referral finds the file and writes nothing.

A referral of a loan whose claim is time-barred is refused (`TimeBarred`): the gate suppresses such
a step, so one arriving here was sent under an older pack or by hand, and no file may be built.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.case_files import CaseFileStore
from arrears.adapters.dynamodb import (
    ArchiveChainRepository,
    BorrowerRepository,
    ContactRepository,
    LoanRepository,
)
from arrears.adapters.payments_ledger import PaymentLedger
from arrears.config.money import money_rules_for
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.archive import (
    ARCHIVE_PREFIX,
    ArchiveKey,
    archive_line,
    decode_lines,
    manifest_key,
    parse_key,
)
from arrears.domain.calendar import format_utc, local_date
from arrears.domain.case_file import (
    ArchivedObject,
    ChainAnchor,
    build_case_file,
    case_file_keys,
    contact_proof,
    render_html,
    verify,
)
from arrears.domain.limitation import LIMITATION_RULE, limitation_ends, time_barred
from arrears.domain.rulepacks import RulePackHistory
from arrears.domain.tokens import borrower_token


class TimeBarred(ValueError):
    """The loan's claim is past its limitation period: no case file may be built."""


CATALOGUE_ENTRIES = 400_000
"""Objects a container's catalogue remembers before it starts over (a few tens of MB of loan ids)."""


@dataclass
class ArchiveCatalogue:
    """What this container has read of the archive, by key, so that no object is read twice.

    The archive is write-once: objects are under Object Lock, a retried batch PUTs the same bytes
    again, and each manifest holds its data object's SHA-256 (checked by `verify` on the file's
    proof). So a manifest's bytes (`manifests`, a few hundred bytes each) and, for a data object
    whose manifest exists, the loan ids its lines name (`loans_in`, not the lines) stay true for as
    long as the container lives. Only complete objects are remembered: a data object without its
    manifest is pending and read again by a later referral. Past `CATALOGUE_ENTRIES` entries it
    forgets everything and reads again (memory stays bounded; a cold container starts empty).
    `reads` counts the GetObject requests it made.
    """

    manifests: dict[str, bytes] = field(default_factory=dict)
    loans_in: dict[str, frozenset[str]] = field(default_factory=dict)
    keys: dict[str, ArchiveKey | None] = field(default_factory=dict)
    reads: int = 0

    def parsed(self, key: str) -> ArchiveKey | None:
        """`parse_key(key)`, once per key: every referral lists the jurisdiction's whole archive."""
        if key not in self.keys:
            if len(self.keys) >= CATALOGUE_ENTRIES:
                self.keys.clear()
            self.keys[key] = parse_key(key)
        return self.keys[key]

    def _read(self, archive: ArchiveStore, key: str) -> bytes:
        if len(self.manifests) + len(self.loans_in) >= CATALOGUE_ENTRIES:
            self.manifests.clear()
            self.loans_in.clear()
        self.reads += 1
        return archive.read(key)

    def manifest(self, archive: ArchiveStore, key: str) -> bytes:
        """The bytes of manifest `key` (read once)."""
        body = self.manifests.get(key)
        if body is None:
            body = self.manifests[key] = self._read(archive, key)
        return body

    def holding(self, archive: ArchiveStore, key: str, loan_id: str) -> bytes | None:
        """The bytes of complete data object `key` when a line of it names `loan_id`, else None."""
        loans = self.loans_in.get(key)
        if loans is not None and loan_id not in loans:
            return None
        data = self._read(archive, key)
        if loans is None:
            loans = self.loans_in[key] = frozenset(str(line.get("loan_id")) for line in decode_lines(data))
        return data if loan_id in loans else None


@dataclass(frozen=True)
class CaseFilePorts:
    loans: LoanRepository
    borrowers: BorrowerRepository
    payments: PaymentLedger
    contacts: ContactRepository
    archive: ArchiveStore
    chain: ArchiveChainRepository
    store: CaseFileStore
    token_secret: Callable[[], bytes]
    rule_packs: Callable[[], RulePackHistory] = bundled_rule_packs
    catalogue: ArchiveCatalogue = field(default_factory=ArchiveCatalogue)


@dataclass(frozen=True, slots=True)
class CaseFileResult:
    """The file of referral `case_id`: its keys, whether this run wrote it, and what it holds."""

    case_id: str
    loan_id: str
    json_key: str
    html_key: str
    written: bool
    records: int
    manifests: int
    problems: tuple[str, ...]
    document: dict[str, Any]


def _objects_of(
    ports: CaseFilePorts, jurisdiction: str, since: date, loan_id: str
) -> tuple[list[ArchivedObject], list[bytes]]:
    """The jurisdiction's complete data objects of days from `since` on that hold a record of
    `loan_id`, with their manifests, and every manifest of the jurisdiction."""
    keys = ports.archive.keys(f"{ARCHIVE_PREFIX}jurisdiction={jurisdiction}/")
    listed = set(keys)
    catalogue = ports.catalogue
    manifests: list[bytes] = []
    objects: list[ArchivedObject] = []
    for key in keys:
        parsed = catalogue.parsed(key)
        if parsed is None:
            continue
        if parsed.is_manifest:
            manifests.append(catalogue.manifest(ports.archive, key))
        elif parsed.day >= since and manifest_key(key) in listed:  # no manifest yet: pending
            data = catalogue.holding(ports.archive, key, loan_id)
            if data is not None:
                objects.append(
                    ArchivedObject(key, data, catalogue.manifest(ports.archive, manifest_key(key)))
                )
    return objects, manifests


def _document(case: dict[str, Any]) -> bytes:
    return json.dumps(case, sort_keys=True, ensure_ascii=False, indent=1).encode()


def _result(
    case_id: str, loan_id: str, keys: tuple[str, str], written: bool, case: dict[str, Any]
) -> CaseFileResult:
    return CaseFileResult(
        case_id,
        loan_id,
        keys[0],
        keys[1],
        written,
        len(case.get("contact_history", [])),
        len(case.get("proof", {}).get("manifests", [])),
        tuple(verify(case)),
        case,
    )


def build_or_fetch(
    loan_id: str, case_id: str, referred_at: datetime, ports: CaseFilePorts, *, jurisdiction: str
) -> CaseFileResult:
    """The case file of referral `case_id` (the legal action's id) of `loan_id`: the stored one, else
    built now as of `referred_at` and written once.

    Raises LookupError for an unknown loan or borrower, `TimeBarred` past the limitation date.
    """
    keys = case_file_keys(jurisdiction, loan_id, case_id)
    stored = ports.store.get(keys[0])
    if stored is not None:
        case = json.loads(stored)
        # A run that died between the two writes left the JSON alone: the HTML is written now.
        ports.store.put_once(keys[1], render_html(case).encode(), content_type="text/html; charset=utf-8")
        return _result(case_id, loan_id, keys, False, case)
    loan = ports.loans.get(loan_id)
    if loan is None:
        raise LookupError(f"loan {loan_id} not found")
    borrower = ports.borrowers.get(loan.borrower_id)
    if borrower is None:
        raise LookupError(f"borrower of loan {loan_id} not found")
    pack = rule_pack_in_force(
        loan.jurisdiction, referred_at, ports.rule_packs(), address_state=borrower.region
    )
    on = local_date(referred_at, loan.timezone or borrower.timezone or pack.business_timezone)
    if time_barred(loan, pack.limitation, on):
        ends = limitation_ends(loan, pack.limitation) if pack.limitation else None
        raise TimeBarred(f"loan {loan_id}: limitation period ended on {ends}: no case file")
    rules = money_rules_for(loan.jurisdiction, loan.disbursed_on)
    # The cap of the contract's state (a borrower who moved since is capped as contracted).
    cap = rules.cost_cap.cap_for(loan.disbursed_on, loan.contract_region or borrower.region)
    objects, manifests = _objects_of(ports, loan.jurisdiction, loan.disbursed_on - timedelta(days=1), loan_id)
    head = ports.chain.head(loan.jurisdiction)
    history, proof = contact_proof(
        loan_id, objects, manifests, ChainAnchor(loan.jurisdiction, head.seq, head.manifest_sha256)
    )
    archived = {str(line.get("contact_id")) for line in history}
    secret = ports.token_secret()
    pending = [
        archive_line(record, borrower_token(secret, str(record["borrower_id"])))
        for record in sorted(ports.contacts.for_loan(loan_id), key=lambda r: str(r.get("occurred_at", "")))
        if str(record.get("contact_id")) not in archived
    ]
    case = build_case_file(
        case_id=case_id,
        loan=loan,
        borrower=borrower,
        payments=ports.payments.entries(loan_id),
        on=on,
        referred_at=format_utc(referred_at),
        rule_pack=pack.ref,
        limitation=pack.limitation,
        limitation_source=str(pack.source(LIMITATION_RULE)),
        cap_explanation=cap.explanation,
        contact_history=history,
        not_yet_archived=pending,
        proof=proof,
    )
    written = ports.store.put_once(keys[0], _document(case), content_type="application/json")
    if not written:  # another run wrote it first: that one is the file
        return build_or_fetch(loan_id, case_id, referred_at, ports, jurisdiction=jurisdiction)
    ports.store.put_once(keys[1], render_html(case).encode(), content_type="text/html; charset=utf-8")
    return _result(case_id, loan_id, keys, True, case)
