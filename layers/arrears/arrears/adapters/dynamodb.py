"""DynamoDB repositories: loans, borrowers, actions, contacts and the archive chain head."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from boto3.dynamodb.conditions import Attr, Key

from arrears.adapters.due_list import DueEntry, DueList
from arrears.adapters.items import (
    DEFERRED_PARTITION,
    action_from_item,
    action_to_item,
    borrower_from_item,
    borrower_to_item,
    census_review_from_item,
    census_row_from_item,
    contact_to_item,
    loan_from_item,
    loan_to_item,
    outcome_from_item,
    outcome_to_item,
    plain,
)
from arrears.adapters.retrying import retry_transient
from arrears.adapters.tables import TRANSACTION_REFUSED, all_items, conditional_write, pages
from arrears.domain.actions import Action, ActionOutcome, ActionStatus, ContactRecord
from arrears.domain.borrowers import PII_FIELDS, Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.loans import Loan, LoanStatus
from arrears.domain.tokens import pseudonym

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

REVIEW_INDEX = "ReviewIndex"
BORROWER_INDEX = "BorrowerIndex"
LOAN_ACTIONS_INDEX = "LoanActionsIndex"
DEFERRED_INDEX = "DeferredIndex"
# Borrowers by keyed hash of their phone number / by archive token (keys only): who sent a text reply,
# whose unsubscribe link was followed. Neither key reveals the number or the id without the secret.
PHONE_KEY_INDEX = "PhoneKeyIndex"
BORROWER_TOKEN_INDEX = "BorrowerTokenIndex"  # noqa: S105 - an index name, not a secret
# What a registration sets on a Borrowers item (and removes when the registration lacks it); never
# the opt-outs, the preference stamps or an erasure's tombstone.
REGISTERED_FIELDS = (
    "timezone",
    "language",
    "region",
    "name",
    "phone",
    "email",
    "address",
    "preferred_hours",
)
LOOKUP_FIELDS = ("phone_key", "borrower_token")  # set only by a repository given `lookup_keys`
# Archive claims by jurisdiction and retain-until date (sparse: an expired object's claim leaves it).
RETENTION_INDEX = "RetentionIndex"
RETENTION_PARTITION = "retention_jurisdiction"


MAX_UPDATE_ATTEMPTS = 5


class VersionConflict(RuntimeError):
    """Someone else wrote the item since we read it: re-read and re-decide."""


LoanChange = Callable[[Loan], Loan | None]
"""A change to a loan, as read: the loan to store (its `version` untouched), or None to write nothing.

It may be called several times, once per attempt, each time with a fresher read of the loan, so it
must decide from its argument only (anything it records for its caller is the last call's)."""


@dataclass(frozen=True, slots=True)
class LoanUpdate:
    """What `LoanRepository.update` did.

    `loan` is the loan as stored by the write (`version` one more than read), or as last read when
    nothing was written, or None when no loan has the id. `conflicts` counts the conditional writes
    that lost to another writer before this outcome (each was followed by a consistent re-read).
    """

    loan: Loan | None
    written: bool = False
    conflicts: int = 0


class VersionedLoans(Protocol):
    """A loan store with optimistic locking: what `update_loan` reads and writes through."""

    def get(self, loan_id: str) -> Loan | None: ...

    def save(self, loan: Loan) -> Loan: ...


def update_loan(
    loans: VersionedLoans,
    loan_id: str,
    change: LoanChange,
    *,
    current: Loan | None = None,
    max_attempts: int = MAX_UPDATE_ATTEMPTS,
) -> LoanUpdate:
    """Read the loan, apply `change`, save it if its version is unchanged; on a conflict, again.

    The first attempt starts from `current` when given (a loan the caller has just read, e.g. from
    an index page), otherwise from a consistent read (`loans.get`); every later attempt re-reads.
    Stops at the first attempt where the loan is missing or `change` returns None (nothing
    written), or whose save succeeds. Raises `VersionConflict` when all `max_attempts` saves lost
    to other writers.
    """
    conflicts = 0
    for attempt in range(max_attempts):
        loan = current if attempt == 0 and current is not None else loans.get(loan_id)
        if loan is None:
            return LoanUpdate(None, conflicts=conflicts)
        changed = change(loan)
        if changed is None:
            return LoanUpdate(loan, conflicts=conflicts)
        try:
            stored = loans.save(changed)
        except VersionConflict:
            conflicts += 1
            continue
        return LoanUpdate(stored, written=True, conflicts=conflicts)
    raise VersionConflict(f"loan {loan_id}: still conflicting after {max_attempts} re-reads")


@dataclass(frozen=True, slots=True)
class ReviewPage:
    loans: list[Loan]
    scanned_count: int
    last_evaluated_key: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class DueLoansPage:
    """A page of the due list: its entries, and their loans read whole (by id; gone loans left out)."""

    entries: list[DueEntry]
    loans: dict[str, Loan]
    scanned_count: int
    last_evaluated_key: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class CensusPage:
    rows: list[tuple[str, str]]  # (jurisdiction, bucket) of each open loan on the page
    scanned_count: int
    last_evaluated_key: dict[str, Any] | None
    # (loan id, next review date, listing request or None) of each open loan with a next review: the
    # census relists the overdue reviews and the requests the review lister may have lost
    reviews: list[tuple[str, date, date | None]] = field(default_factory=list)


# What the census needs of a loan item: its tally keys, its next review date and listing request (and
# the table's key a continuation resumes from). Only open loans carry `review_shard`. A projection
# costs nothing: a Scan is charged on the items' whole size.
CENSUS_PROJECTION = "loan_id, #j, #b, next_review_on, list_on"
CENSUS_NAMES = {"#j": "jurisdiction", "#b": "bucket"}  # BUCKET is a DynamoDB reserved word


BATCH_GET_MAX = 100  # DynamoDB's limit of keys per BatchGetItem request


def batch_get(
    table: Table, key_name: str, ids: list[str], *, consistent: bool = False, max_rounds: int = 8
) -> list[dict[str, Any]]:
    """The items of `table` whose hash key `key_name` is in `ids` (missing ids are left out), in
    BatchGetItem requests of at most 100 keys; unprocessed keys are asked again (the SDK retries
    throttled requests, DynamoDB may still hand some keys back under load)."""
    # The Table resource has no batch read; its client is the resource's, with the same conversion
    # of Python values to and from DynamoDB JSON (as for transact_write_items below).
    client: Any = table.meta.client
    items: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), BATCH_GET_MAX):
        keys: list[Any] = [{key_name: i} for i in unique[start : start + BATCH_GET_MAX]]
        for _ in range(max_rounds):
            if not keys:
                break
            response = client.batch_get_item(
                RequestItems={table.name: {"Keys": keys, "ConsistentRead": consistent}}
            )
            items.extend(response.get("Responses", {}).get(table.name, []))
            keys = list(response.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", []))
        if keys:
            raise RuntimeError(f"{table.name}: {len(keys)} keys still unprocessed by BatchGetItem")
    return items


PARKED_READS_KEPT = 1024
"""How many parked reads a repository remembers for `save` (a handler reads and writes a few loans)."""


class RecordedNotice(NamedTuple):
    """A loan's validation notice as stored (`LoanRepository.record_validation_notice`)."""

    at: datetime
    period_ends: date
    sha256: str
    action_id: str  # the action whose send carried it ("" on notices recorded before it was kept)
    amount_minor: int  # the current amount it itemized (0 on notices recorded before it was kept)


class LoanRepository:
    """The Loans table. Every item it writes carries the loan's review shard while the loan has
    a `next_review_on` (see `loan_to_item`): `shard_count` is the deployment's number of shards
    (`Settings.shard_count`), the same for every writer of the table."""

    def __init__(self, table: Table, *, shard_count: int, due_list: DueList | None = None) -> None:
        if shard_count < 1:
            raise ValueError(f"shard_count must be at least 1, got {shard_count}")
        self._table = table
        self.shard_count = shard_count
        self._due_list = due_list
        # loan id -> (version, next_review_on, list_on or "") of the listed items `get` read: see `save`
        self._parked_reads: dict[str, tuple[int, str, str]] = {}

    @property
    def due_list(self) -> DueList:
        """The sweep's due list (only the sweep worker has one: `REVIEW_DUE_TABLE`)."""
        if self._due_list is None:
            raise RuntimeError("this LoanRepository has no due list (REVIEW_DUE_TABLE is not set)")
        return self._due_list

    def get(self, loan_id: str) -> Loan | None:
        item = self._table.get_item(Key={"loan_id": loan_id}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        if item.get("next_review_on") and not item.get("review_on"):
            if len(self._parked_reads) >= PARKED_READS_KEPT:
                self._parked_reads.clear()
            self._parked_reads[loan_id] = (
                int(str(item.get("version", 0))),
                str(item["next_review_on"]),
                str(item.get("list_on") or ""),
            )
        return loan_from_item(item)

    def create(self, loan: Loan) -> bool:
        """Insert a new loan; False (and nothing written) when the id exists already."""
        written = conditional_write(
            self._table.put_item,
            Item=loan_to_item(loan, shard_count=self.shard_count),
            ConditionExpression=Attr("loan_id").not_exists(),
        )
        return written is not None

    def save(self, loan: Loan, *, parked: bool = False) -> Loan:
        """Write `loan` if nobody wrote since it was read (its `version`); returns the stored loan.

        `parked` (the sweep only, after listing the loan in the due list under its
        `next_review_on`): the item carries no listing request (see `loan_to_item`). Any other write
        asks the review lister to list the loan under its `next_review_on` (`list_on`: the table's
        stream feeds `arrears.usecases.review_listing`), so the sweep sees what an event did, unless
        the version it replaces was read listed (`get`: no ReviewIndex key) with the same or an
        earlier `next_review_on` (a payment, a promise or a pause that moves the next milestone
        later, most events): the due list names the loan under the earlier date (or the lister is
        about to), whose sweep reads it, finds it not due yet and lists it again under its new date
        (`arrears.usecases.sweep._postponed`), so the write asks for nothing new: it keeps the request
        the version read carried (`list_on`, skipped by the lister as a repeat), so the census can
        relist the loan if the lister lost that request. An event that moves the date earlier asks
        for a listing: the entry under the later date would reach the loan too late.
        Raises `VersionConflict` (nothing written) when the stored version is not `loan.version`.
        Prefer `update`, which re-reads and re-applies a change on a conflict.
        """
        read_parked = self._parked_reads.pop(loan.loan_id, None)
        carried = None
        if read_parked is not None and loan.next_review_on is not None and not parked:
            version, read_on, read_list_on = read_parked  # the listed item as it was read
            parked = version == loan.version and read_on <= loan.next_review_on.isoformat()
            # a request not known to be fulfilled stays on the item: the census relists it if lost
            carried = (read_list_on or None) if parked else None
        stored = loan.with_changes(version=loan.version + 1)
        written = conditional_write(
            self._table.put_item,
            Item=loan_to_item(stored, shard_count=self.shard_count, parked=parked, carried=carried),
            ConditionExpression=Attr("version").eq(loan.version),
        )
        if written is None:
            raise VersionConflict(f"loan {loan.loan_id} changed since version {loan.version}")
        return stored

    def update(
        self,
        loan_id: str,
        change: LoanChange,
        *,
        current: Loan | None = None,
        max_attempts: int = MAX_UPDATE_ATTEMPTS,
    ) -> LoanUpdate:
        """The one way to change a stored loan: read it (consistently), apply `change`, save it if
        its version is unchanged, and on a conflict re-read and re-apply; see `update_loan`.

        Raises `VersionConflict` after `max_attempts` lost writes.
        """
        return update_loan(self, loan_id, change, current=current, max_attempts=max_attempts)

    def record_validation_notice(
        self, loan_id: str, at: datetime, period_ends: date, sha256: str, action_id: str, amount_minor: int
    ) -> RecordedNotice:
        """Record the loan's validation notice once: sent at `at`, validation period ending
        `period_ends`, the SHA-256 of the notice as sent, carried by the send of `action_id`, itemizing
        `amount_minor` as the current amount.

        One UpdateItem of those attributes and the version (so a writer holding an older version
        re-reads instead of overwriting them), only while none is recorded. Returns what is stored:
        this notice, or the one another run recorded first (read back). Raises
        LookupError when the loan is gone.
        """
        written = conditional_write(
            self._table.update_item,
            Key={"loan_id": loan_id},
            UpdateExpression=(
                "SET validation_notice_at = :at, validation_period_ends = :end, "
                "validation_notice_sha256 = :sha, validation_notice_action = :action, "
                "validation_notice_amount_minor = :amount ADD version :one"
            ),
            ExpressionAttributeValues={
                ":at": format_utc(at),
                ":end": period_ends.isoformat(),
                ":sha": sha256,
                ":action": action_id,
                ":amount": amount_minor,
                ":one": 1,
            },
            ConditionExpression=Attr("loan_id").exists() & Attr("validation_notice_at").not_exists(),
        )
        if written is not None:
            return RecordedNotice(at, period_ends, sha256, action_id, amount_minor)
        stored = self.get(loan_id)
        if stored is None or stored.validation_notice_at is None or stored.validation_period_ends is None:
            raise LookupError(f"loan {loan_id} not found")
        return RecordedNotice(
            stored.validation_notice_at,
            stored.validation_period_ends,
            stored.validation_notice_sha256,
            stored.validation_notice_action,
            stored.validation_notice_amount_minor,
        )

    def pseudonymise_borrower(self, loan_id: str, borrower_id: str, pseudonym: str) -> bool:
        """Replace the loan's `borrower_id` by the erased borrower's `pseudonym` (and bump `version`,
        so a writer holding the loan as read before re-reads instead of writing the id back); True
        when this call changed it, False when the loan is not `borrower_id`'s (gone, or done before)."""
        written = conditional_write(
            self._table.update_item,
            Key={"loan_id": loan_id},
            UpdateExpression="SET borrower_id = :p ADD version :one",
            ExpressionAttributeValues={":p": pseudonym, ":old": borrower_id, ":one": 1},
            ConditionExpression="borrower_id = :old",
        )
        return written is not None

    def closing_states(self, loan_ids: Sequence[str]) -> dict[str, tuple[LoanStatus, date | None]]:
        """(status, closed_on) of each loan on file among `loan_ids` (BatchGetItem, eventually
        consistent: a loan closed in the last second counts as still collected, the safe side)."""
        states: dict[str, tuple[LoanStatus, date | None]] = {}
        for item in batch_get(self._table, "loan_id", list(loan_ids)):
            closed = item.get("closed_on")
            states[str(item["loan_id"])] = (
                LoanStatus(str(item.get("status", "OPEN"))),
                date.fromisoformat(str(closed)) if closed else None,
            )
        return states

    def review_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> ReviewPage:
        """One page of the unparked loans in `shard` whose next milestone is on or before `through`.

        ReviewIndex holds keys only (an entry is ~60 bytes instead of a whole loan), so the page's
        loans are then read whole from the table with BatchGetItem, eventually consistent: the
        sweep's write is conditional on the version read, so a stale read loses that write and is
        re-read consistently."""
        kwargs: dict[str, Any] = {
            "IndexName": REVIEW_INDEX,
            "KeyConditionExpression": Key("review_shard").eq(shard)
            & Key("review_on").lte(through.isoformat()),
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = dict(start_key)
        response = self._table.query(**kwargs)
        ids = [str(item["loan_id"]) for item in response.get("Items", [])]
        found = {str(item["loan_id"]): item for item in batch_get(self._table, "loan_id", ids)}
        # index order; a loan deleted since the index answered is skipped
        loans = [loan_from_item(found[loan_id]) for loan_id in ids if loan_id in found]
        return ReviewPage(loans, int(response.get("ScannedCount", 0)), response.get("LastEvaluatedKey"))

    def due_page(
        self, shard: int, through: date, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> DueLoansPage:
        """One page of the due list of `shard` through `through`, with its loans batch-read whole."""
        page = self.due_list.page(shard, through, start_key, limit)
        ids = [loan_id for entry in page.entries for loan_id in entry.loan_ids]
        items = batch_get(self._table, "loan_id", ids)
        loans = {str(item["loan_id"]): loan_from_item(item) for item in items}
        return DueLoansPage(page.entries, loans, page.scanned_count, page.last_evaluated_key)

    def census_page(
        self, shard: int, start_key: Mapping[str, Any] | None = None, limit: int = 200
    ) -> CensusPage:
        """One page of segment `shard` of a parallel Scan of the table (`shard_count` segments),
        open loans only (those with a `review_shard`), projected for the census."""
        kwargs: dict[str, Any] = {
            "Segment": shard,
            "TotalSegments": self.shard_count,
            "ProjectionExpression": CENSUS_PROJECTION,
            "FilterExpression": Attr("review_shard").exists(),
            "ExpressionAttributeNames": CENSUS_NAMES,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = dict(start_key)
        response = self._table.scan(**kwargs)
        items = response.get("Items", [])
        rows = [census_row_from_item(item) for item in items]
        reviews = [census_review_from_item(item) for item in items if item.get("next_review_on")]
        return CensusPage(
            rows, int(response.get("ScannedCount", 0)), response.get("LastEvaluatedKey"), reviews
        )


def loan_ids_for_borrower(table: Table, borrower_id: str, *, page_size: int | None = None) -> list[str]:
    """Every loan id of one borrower, in loan id order: a paginated Query on the keys-only
    BorrowerIndex, so an erasure request reads the borrower's index entries and nothing else.

    GSI reads are eventually consistent (a loan written in the last second may be missing); an
    erasure request comes long after a loan is onboarded, and a redelivered request runs it again.
    """
    kwargs: dict[str, Any] = {
        "IndexName": BORROWER_INDEX,
        "KeyConditionExpression": Key("borrower_id").eq(borrower_id),
        "ProjectionExpression": "loan_id",
    }
    if page_size is not None:
        kwargs["Limit"] = page_size
    return [str(item["loan_id"]) for item in all_items(table.query, **kwargs)]


class BorrowerRepository:
    """Borrowers by id. With `lookup_keys` (borrower -> {"phone_key": ..., "borrower_token": ...}, keyed
    hashes: `arrears.usecases.preferences.lookup_keys`), `put` stores the keys the PhoneKeyIndex and
    BorrowerTokenIndex find a borrower by."""

    def __init__(
        self, table: Table, lookup_keys: Callable[[Borrower], Mapping[str, str]] | None = None
    ) -> None:
        self._table = table
        self._lookup_keys = lookup_keys

    def get(self, borrower_id: str) -> Borrower | None:
        item = self._table.get_item(Key={"borrower_id": borrower_id}).get("Item")
        return None if item is None else borrower_from_item(item)

    def put(self, borrower: Borrower) -> None:
        """Register `borrower` (a new one, or the lending core's update of one on file) without losing
        what the borrower decided since: the profile (zone, language, region, name, phone, e-mail,
        address, preferred hours, lookup keys) is replaced, a field the registration lacks is removed,
        but the channels the borrower opted out of are kept and the registration's are added (a
        re-registration never opts a borrower back in: only their own START or link does, through
        `set_channel_preference`), and the preference stamps and an erasure's tombstone are untouched.
        An erased borrower's personal data is not written back, whether the tombstone is still under
        the id or already under the pseudonym (the erasure stands; a returning customer is registered
        under a new id).

        Each write is conditional on the opt-outs read, so a concurrent opt-out is never lost.
        """
        profile = borrower_to_item(borrower)
        profile.pop("opted_out_channels", None)
        if self._lookup_keys is not None:
            profile.update(self._lookup_keys(borrower))
        profile.pop("borrower_id")
        for _ in range(5):
            item = self._table.get_item(Key={"borrower_id": borrower.borrower_id}, ConsistentRead=True).get(
                "Item"
            )
            stored = item or {}
            if item is None and self.was_erased(borrower):
                return  # erased: the tombstone is under the pseudonym, nothing is written back
            fields = dict(profile)
            if "erased_at" in stored:
                for name in (*PII_FIELDS, "phone_key"):
                    fields.pop(name, None)
            registered = REGISTERED_FIELDS + (LOOKUP_FIELDS if self._lookup_keys is not None else ())
            removed = [name for name in registered if name not in fields and name in stored]
            listed = stored.get("opted_out_channels")
            old = sorted(str(c) for c in listed) if isinstance(listed, list | set) else []
            merged = sorted(set(old) | set(borrower.opted_out_channels))
            if merged:
                fields["opted_out_channels"] = merged
            names = {f"#f{i}": name for i, name in enumerate(fields)}
            values = {f":v{i}": value for i, value in enumerate(fields.values())}
            update = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
            if removed:
                gone = {f"#r{i}": name for i, name in enumerate(removed)}
                names.update(gone)
                update += " REMOVE " + ", ".join(gone)
            unchanged = (
                Attr("opted_out_channels").eq(listed)
                if "opted_out_channels" in stored
                else Attr("opted_out_channels").not_exists()
            )
            written = conditional_write(
                self._table.update_item,
                Key={"borrower_id": borrower.borrower_id},
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConditionExpression=unchanged,
            )
            if written is not None:
                return
        raise RuntimeError(
            f"borrower {borrower.borrower_id}: opt-outs kept changing under five registrations"
        )

    def create(self, borrower: Borrower) -> bool:
        """Insert a new borrower (with their lookup keys); False (nothing written) when the id exists."""
        item = borrower_to_item(borrower)
        if self._lookup_keys is not None:
            item.update(self._lookup_keys(borrower))
        written = conditional_write(
            self._table.put_item, Item=item, ConditionExpression=Attr("borrower_id").not_exists()
        )
        return written is not None

    def update_contact(self, borrower: Borrower) -> bool:
        """Set a known borrower's profile (time zone, region, name, phone, e-mail, address, language,
        preferred hours, the phone's lookup key, and `profile_at`) from `borrower`; an empty field is
        removed. The phone's lookup key is replaced in the same write, so the PhoneKeyIndex finds the
        borrower by the new number and no longer by the old one.

        False (nothing written) when there is no such borrower, they were erased on request (an
        erased borrower's personal data is never restored), or the stored `profile_at` is later than
        `borrower.profile_at` (an older update never wins). Opt-outs and their instants are left as
        stored.
        """
        item = borrower_to_item(borrower)
        if self._lookup_keys is not None:
            item.update(self._lookup_keys(borrower))
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for n, field_name in enumerate(
            (
                "timezone",
                "region",
                "name",
                "phone",
                "email",
                "address",
                "language",
                "preferred_hours",
                "phone_key",
                "borrower_token",
                "profile_at",
            )
        ):
            # Placeholders end in `_` so that none is a prefix of another (#f1 of #f10).
            if field_name in item:
                names[f"#f{n}_"] = field_name
                sets.append(f"#f{n}_ = :v{n}_")
                values[f":v{n}_"] = item[field_name]
            elif field_name not in ("borrower_token", "profile_at"):
                names[f"#f{n}_"] = field_name
                removes.append(f"#f{n}_")
        expression = "SET " + ", ".join(sets)  # the time zone, region and language are always set
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        condition = Attr("borrower_id").exists() & Attr("erased_at").not_exists()
        if "profile_at" in item:  # ISO 8601 UTC at second precision: ordered as text
            condition &= Attr("profile_at").not_exists() | Attr("profile_at").lte(item["profile_at"])
        written = conditional_write(
            self._table.update_item,
            Key={"borrower_id": borrower.borrower_id},
            UpdateExpression=expression.strip(),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression=condition,
        )
        return written is not None

    def find_id(self, index: str, attribute: str, value: str) -> str | None:
        """The borrower id whose `attribute` is `value` on the keys-only `index`; None when nobody's.

        Raises `LookupError` when two borrowers share it (a number on two files: decided by a person).
        """
        found = self._table.query(IndexName=index, KeyConditionExpression=Key(attribute).eq(value), Limit=2)
        ids = sorted({str(item["borrower_id"]) for item in found.get("Items", [])})
        if len(ids) > 1:
            raise LookupError(f"{len(ids)} borrowers share one {attribute}")
        return ids[0] if ids else None

    def set_channel_preference(
        self, borrower_id: str, channel: str, *, opted_out: bool, at: datetime
    ) -> bool | None:
        """Opt `borrower_id` out of (or back into) `channel` as of the instant `at`, at once.

        Returns True when stored, False when a change of that channel at a later instant is stored
        already (this one is older and changes nothing), None when there is no such borrower. The
        channel's instant (`preference_at_<CHANNEL>`) orders changes; every write is conditional on what
        was read, so concurrent changes never lose one another and a redelivery is harmless.
        """
        stamp_name = f"preference_at_{channel}"
        stamp = format_utc(at)
        for _ in range(5):
            item = self._table.get_item(Key={"borrower_id": borrower_id}, ConsistentRead=True).get("Item")
            if item is None:
                return None
            stored = item.get(stamp_name)
            if stored is not None and str(stored) > stamp:
                return False
            listed = item.get("opted_out_channels")
            old = sorted(str(c) for c in listed) if isinstance(listed, list | set) else []
            new = sorted(set(old) | {channel}) if opted_out else sorted(set(old) - {channel})
            stamp_unchanged = Attr(stamp_name).not_exists() if stored is None else Attr(stamp_name).eq(stored)
            list_unchanged = (
                Attr("opted_out_channels").eq(listed)
                if "opted_out_channels" in item
                else Attr("opted_out_channels").not_exists()
            )
            condition = stamp_unchanged & list_unchanged
            values: dict[str, Any] = {":at": stamp}
            update = "SET #stamp = :at"
            if new:
                update += ", opted_out_channels = :new"
                values[":new"] = new
            else:
                update += " REMOVE opted_out_channels"
            written = conditional_write(
                self._table.update_item,
                Key={"borrower_id": borrower_id},
                UpdateExpression=update,
                ExpressionAttributeNames={"#stamp": stamp_name},
                ExpressionAttributeValues=values,
                ConditionExpression=condition,
            )
            if written is not None:
                return True
        raise RuntimeError(f"borrower preferences kept changing under five attempts to set {channel}")

    def set_contact_settings(
        self, borrower_id: str, *, preferred_hours: tuple[int, int] | None, language: str | None
    ) -> bool:
        """Store the borrower's preferred contact hours (local start and end hour, 0-23) and/or language;
        False when there is no such borrower (nothing written)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        if preferred_hours is not None:
            names["#h"], values[":h"] = "preferred_hours", list(preferred_hours)
            sets.append("#h = :h")
        if language is not None:
            names["#l"], values[":l"] = "language", language
            sets.append("#l = :l")
        if not sets:
            return self.get(borrower_id) is not None
        written = conditional_write(
            self._table.update_item,
            Key={"borrower_id": borrower_id},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression=Attr("borrower_id").exists(),
        )
        return written is not None

    def erase(
        self,
        borrower_id: str,
        *,
        request_sha256: str,
        erased_at: datetime,
        opt_out: list[str],
        fields: Sequence[str] = PII_FIELDS,
    ) -> list[str] | None:
        """Remove the personal-data `fields` (names among `PII_FIELDS`; the phone's lookup key goes
        with the phone), opt out of the `opt_out` channels, tombstone with the request's hash; None
        when no such borrower.

        Returns the names (never the values) of the fields that were present. Repeatable.
        """
        removed = [name for name in PII_FIELDS if name in fields]
        if "phone" in removed:
            removed.append("phone_key")
        names = {f"#r{i}": name for i, name in enumerate(removed)}
        expression = (
            "SET erased_at = if_not_exists(erased_at, :at), "
            "erasure_request_sha256 = if_not_exists(erasure_request_sha256, :rid), "
            "opted_out_channels = :all"
        )
        if names:
            expression = "REMOVE " + ", ".join(names) + " " + expression
        request: dict[str, Any] = {
            "Key": {"borrower_id": borrower_id},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {
                ":at": format_utc(erased_at),
                ":rid": request_sha256,
                ":all": opt_out,
            },
            "ConditionExpression": Attr("borrower_id").exists(),
            "ReturnValues": "UPDATED_OLD",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        response = conditional_write(self._table.update_item, **request)
        if response is None:
            return None
        old = response.get("Attributes", {})
        return [name for name in PII_FIELDS if name in old and name in removed]

    def copy_as(self, borrower_id: str, pseudonym: str) -> bool:
        """Copy the erased borrower's tombstone (what `erase` left) under their `pseudonym`; True
        when written, False when there is no erased item under `borrower_id` or the copy exists.

        The copy comes first and the original goes last (`drop_erased`), so an action of the
        borrower finds their tombstone under either id at every instant of an erasure."""
        item = self._table.get_item(Key={"borrower_id": borrower_id}, ConsistentRead=True).get("Item")
        if item is None or "erased_at" not in item:
            return False
        written = conditional_write(
            self._table.put_item,
            Item={**item, "borrower_id": pseudonym},
            ConditionExpression=Attr("borrower_id").not_exists(),
        )
        return written is not None

    def drop_erased(self, borrower_id: str) -> bool:
        """Delete the item under the borrower's original id once erased and copied (`copy_as`);
        True when this call deleted it."""
        written = conditional_write(
            self._table.delete_item,
            Key={"borrower_id": borrower_id},
            ConditionExpression=Attr("erased_at").exists(),
        )
        return written is not None

    def was_erased(self, borrower: Borrower) -> bool:
        """Whether `borrower` (not on file under their id) was erased on request: their tombstone
        is under their pseudonym (`arrears.domain.tokens`). False without `lookup_keys` (no token)."""
        if self._lookup_keys is None:
            return False
        key = pseudonym(self._lookup_keys(borrower)["borrower_token"])
        return self._table.get_item(Key={"borrower_id": key}, ConsistentRead=True).get("Item") is not None


class ActionRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, action: Action) -> bool:
        """Conditional put keyed by the deterministic action id: a replay plans nothing new."""
        written = conditional_write(
            self._table.put_item,
            Item=action_to_item(action),
            ConditionExpression=Attr("action_id").not_exists(),
        )
        return written is not None

    def get(self, action_id: str) -> Action | None:
        item = self._table.get_item(Key={"action_id": action_id}, ConsistentRead=True).get("Item")
        return None if item is None else action_from_item(item)

    def transition(
        self,
        action: Action,
        to: ActionStatus,
        *,
        reason: str = "",
        not_before: datetime | None = None,
        outcome: ActionOutcome | None = None,
        unless: Mapping[str, Any] | None = None,
    ) -> Action | None:
        """Move `action` to `to` if nobody moved it first; returns the action as stored, or None.

        The outcome (what the contact record is rebuilt from) is written in the same conditional
        update, so a status never changes without the facts of its contact record.

        `unless`: a TransactWriteItems `ConditionCheck` member on another item (the send outbox's
        `SendOutbox.unclaimed`: no send claimed for this action); the update and the check are one
        transaction, and None is returned when either fails (nothing written).
        """
        names = {"#s": "status", "#r": "reason", "#v": "version"}
        values: dict[str, Any] = {
            ":to": to.value,
            ":from": action.status.value,
            ":reason": reason,
            ":v": action.version,
            ":next": action.version + 1,
        }
        update = "SET #s = :to, #r = :reason, #v = :next"
        if outcome is not None:
            update += ", last_outcome = :outcome"
            values[":outcome"] = outcome_to_item(outcome)
        stored_not_before = action.not_before
        record_pending = False
        if to is ActionStatus.DEFERRED:
            stored_not_before = not_before or action.not_before
            update += ", defer_partition = :dp, not_before = :nb"
            values[":dp"] = DEFERRED_PARTITION
            values[":nb"] = format_utc(stored_not_before)
        elif action.status is ActionStatus.DEFERRED and outcome is not None:
            # Leaving DEFERRED: stay in the deferred index, due now, until the contact record of this
            # outcome is written (`record_written`). If this run dies before that, nothing redelivers
            # the action but the next release run, which finds it there and completes the record.
            record_pending = True
            stored_not_before = min(action.not_before, outcome.occurred_at)
            update += ", not_before = :nb, record_pending = :pending"
            values[":nb"] = format_utc(stored_not_before)
            values[":pending"] = True
        else:
            update += " REMOVE defer_partition"

        def ours(item: Mapping[str, Any]) -> bool:
            """The stored action is this transition's own result (an SDK retry of an applied write)."""
            stored = plain(item)
            if (stored.get("version"), stored.get("status"), stored.get("reason", "")) != (
                action.version + 1,
                to.value,
                reason,
            ):
                return False
            try:
                return outcome is None or outcome_from_item(stored.get("last_outcome")) == outcome
            except (KeyError, TypeError, ValueError):
                return False

        change: dict[str, Any] = {
            "Key": {"action_id": action.action_id},
            "UpdateExpression": update,
            "ConditionExpression": "#s = :from AND #v = :v",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if unless is None:
            written = conditional_write(self._table.update_item, ours=ours, **change)
        else:
            client: Any = self._table.meta.client  # the resource's client: Python values, as the Table's
            written = conditional_write(
                client.transact_write_items,
                refused_by=TRANSACTION_REFUSED,
                ours=ours,
                TransactItems=[{"Update": {"TableName": self._table.name, **change}}, dict(unless)],
            )
        if written is None:
            return None
        return replace(
            action,
            status=to,
            reason=reason,
            version=action.version + 1,
            not_before=stored_not_before,
            last_outcome=outcome if outcome is not None else action.last_outcome,
            record_pending=record_pending,
        )

    def unchanged(self, action: Action) -> dict[str, Any]:
        """A TransactWriteItems `ConditionCheck` member: `action` is still as read (its status and
        version), i.e. its next `transition` can still land. The send outbox's claim carries it
        (`SendOutbox(..., guard=...)`), so no send is claimed for an action another run settled."""
        return {
            "ConditionCheck": {
                "TableName": self._table.name,
                "Key": {"action_id": action.action_id},
                "ConditionExpression": "#s = :from AND #v = :v",
                "ExpressionAttributeNames": {"#s": "status", "#v": "version"},
                "ExpressionAttributeValues": {":from": action.status.value, ":v": action.version},
            }
        }

    def record_written(self, action: Action) -> bool:
        """Take `action` (as stored, `record_pending`) out of the deferred index: its record exists.

        Conditional on the version, so it never removes the marker of a later outcome; False when the
        action moved on or the marker is gone already (a concurrent run completed it).
        """
        written = conditional_write(
            self._table.update_item,
            Key={"action_id": action.action_id},
            UpdateExpression="REMOVE defer_partition, record_pending",
            ConditionExpression="#v = :v AND attribute_exists(record_pending)",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":v": action.version},
        )
        return written is not None

    def for_loan(self, loan_id: str) -> list[Action]:
        """Every action of `loan_id`, in planned order; MalformedItem for a bad item.

        LoanActionsIndex holds keys only (its key never changes, so a status transition writes
        nothing to it): the ids come from the index, the actions from the table with
        BatchGetItem, strongly consistent, since what is cancelled or withdrawn depends on the
        status read."""
        ids = self.ids_for_loan(loan_id)
        found = {
            str(item["action_id"]): item for item in batch_get(self._table, "action_id", ids, consistent=True)
        }
        return [action_from_item(found[action_id]) for action_id in ids if action_id in found]

    def ids_for_loan(self, loan_id: str) -> list[str]:
        """The ids of every action of `loan_id`, in planned order (LoanActionsIndex, keys only: a Query
        of the index, no read of the table)."""
        return [
            str(item["action_id"])
            for item in all_items(
                self._table.query,
                IndexName=LOAN_ACTIONS_INDEX,
                KeyConditionExpression=Key("loan_id").eq(loan_id),
            )
        ]

    def pseudonymise_borrower(self, loan_id: str, borrower_id: str, pseudonym: str) -> int:
        """Replace `borrower_id` by the erased borrower's `pseudonym` on every action of `loan_id`
        (whatever its status: a bureau or legal step still to come keeps working under the pseudonym);
        returns how many this call changed. Each update is conditional on the old id: repeatable."""
        changed = 0
        for item in all_items(
            self._table.query,
            IndexName=LOAN_ACTIONS_INDEX,
            KeyConditionExpression=Key("loan_id").eq(loan_id),
        ):
            written = retry_transient(  # one idempotent write, retried alone: not the whole move
                partial(
                    conditional_write,
                    self._table.update_item,
                    Key={"action_id": item["action_id"]},
                    UpdateExpression="SET borrower_id = :p",
                    ExpressionAttributeValues={":p": pseudonym, ":old": borrower_id},
                    ConditionExpression="borrower_id = :old",
                )
            )
            changed += written is not None
        return changed

    def deferred_due(self, until: datetime, limit: int = 500) -> Iterator[str]:
        """Ids of deferred actions whose `not_before` has come (sparse index, never a scan), and of
        actions released from DEFERRED whose contact record is still pending (`record_pending`)."""
        for item in all_items(
            self._table.query,
            IndexName=DEFERRED_INDEX,
            KeyConditionExpression=Key("defer_partition").eq(DEFERRED_PARTITION)
            & Key("not_before").lte(format_utc(until)),
            Limit=limit,
        ):
            yield str(item["action_id"])

    def deferred_due_count(self, until: datetime) -> int:
        """How many deferred actions are already due (`Select=COUNT` on the sparse index, paged)."""
        counted = pages(
            self._table.query,
            IndexName=DEFERRED_INDEX,
            KeyConditionExpression=Key("defer_partition").eq(DEFERRED_PARTITION)
            & Key("not_before").lte(format_utc(until)),
            Select="COUNT",
        )
        return sum(int(page.get("Count", 0)) for page in counted)


class ContactRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, contact: ContactRecord) -> bool:
        """Write a contact record once; a retry of the same outcome writes nothing.

        The record is written without `expires_at`: the hot table may only expire a record once it is
        archived, so the archiver sets the TTL (`mark_archived`).
        """
        written = conditional_write(
            self._table.put_item,
            Item=contact_to_item(contact),
            ConditionExpression=Attr("contact_key").not_exists(),
        )
        return written is not None

    def record_report(self, contact: ContactRecord) -> bool:
        """Write the contact record of a report (a call attempt, a field visit) once by its id.

        A report is applied once per report id under an idempotency record; when that record's
        completion fails after the contact was written, a later delivery of the same report runs it
        again, and a report stamped when it is received (a desk visit, a desk call) then carries
        another instant: `record` alone would write a second item, its key being the instant and the
        id. So the loan's hot record keys are read first (one strongly consistent Query of its
        partition, keys only) and nothing is written when one ends with this id. False then.
        """
        suffix = f"#{contact.contact_id}"
        keys = all_items(
            self._table.query,
            KeyConditionExpression=Key("loan_id").eq(contact.loan_id),
            ProjectionExpression="contact_key",
            ConsistentRead=True,
        )
        if any(str(item["contact_key"]).endswith(suffix) for item in keys):
            return False
        return self.record(contact)

    def mark_archived(self, loan_id: str, contact_key: str, *, expires_at: int, archive_key: str) -> bool:
        """Let TTL expire an archived record (a MODIFY the archiver's stream filter ignores).

        False when the record is gone already (expired or deleted): nothing is re-created.
        """
        written = conditional_write(
            self._table.update_item,
            Key={"loan_id": loan_id, "contact_key": contact_key},
            UpdateExpression="SET expires_at = :e, archived_in = :k",
            ExpressionAttributeValues={":e": expires_at, ":k": archive_key},
            ConditionExpression=Attr("contact_key").exists(),
        )
        return written is not None

    def mark_archived_many(self, keys: list[tuple[str, str, int]], archive_key: str) -> int:
        """`mark_archived` for (loan_id, contact_key, expires_at) triples; returns how many were marked.

        One conditional UpdateItem each (1 WCU; a TransactWriteItems of 100 would halve the requests
        but double the write cost, and moto makes it orders of magnitude slower for the local demo).
        Each update is retried alone on a transient error (`retry_transient`: the same values again),
        so a batch of a hundred marks does not start over at each one that meets a fault.
        """
        return sum(
            retry_transient(
                partial(
                    self.mark_archived, loan_id, contact_key, expires_at=expires_at, archive_key=archive_key
                )
            )
            for loan_id, contact_key, expires_at in dict.fromkeys(keys)
        )

    def archived(self, keys: Sequence[tuple[str, str]]) -> set[str]:
        """The contact keys among (loan_id, contact_key) `keys` whose record is archived already
        (`archived_in` set). One strongly consistent BatchGetItem per 100 keys, keys and the marker
        only; a record gone (expired, deleted) counts as archived."""
        found: set[str] = set()
        present: set[str] = set()
        wanted = list(dict.fromkeys(keys))
        client: Any = self._table.meta.client
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": [
                        {"loan_id": loan, "contact_key": key} for loan, key in wanted[start : start + 100]
                    ],
                    "ProjectionExpression": "contact_key, archived_in",
                    "ConsistentRead": True,
                }
            }
            while request:
                response = client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table.name, []):
                    present.add(str(item["contact_key"]))
                    if item.get("archived_in"):
                        found.add(str(item["contact_key"]))
                request = response.get("UnprocessedKeys") or {}
        return found | {key for _, key in wanted if key not in present}

    def pseudonymise_borrower(self, loan_id: str, borrower_id: str, pseudonym: str) -> int:
        """Replace `borrower_id` by the erased borrower's `pseudonym` (`arrears.domain.tokens`) on the
        loan's hot records; returns how many this call changed (conditional on the old id: repeatable)."""
        changed = 0
        for item in self.for_loan(loan_id):
            if item.get("borrower_id") != borrower_id:
                continue
            written = retry_transient(  # one idempotent write, retried alone: not the whole move
                partial(
                    conditional_write,
                    self._table.update_item,
                    Key={"loan_id": loan_id, "contact_key": item["contact_key"]},
                    UpdateExpression="SET borrower_id = :p",
                    ExpressionAttributeValues={":p": pseudonym},
                    ConditionExpression=Attr("borrower_id").eq(borrower_id),
                )
            )
            if written is not None:
                changed += 1
        return changed

    def for_loan(self, loan_id: str) -> list[dict[str, Any]]:
        """Every hot contact record of `loan_id` (all pages), numbers as int."""
        return [
            plain(item)
            for item in all_items(self._table.query, KeyConditionExpression=Key("loan_id").eq(loan_id))
        ]


@dataclass(frozen=True, slots=True)
class ChainHead:
    jurisdiction: str
    seq: int
    manifest_sha256: str
    last_batch_id: str
    last_manifest: bytes
    # Batches appended to the chain whose manifest or TTL marks may not be written yet: whoever
    # archives next in this jurisdiction completes them (usecases/archiving.py).
    pending: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ChainClaim:
    """What a batch appended to the chain needs to be completed by anyone: its manifest, the
    retention date of its objects and the hot records it holds (loan id, contact key, occurred at)."""

    batch_id: str
    manifest: bytes
    retain_until: str
    records: tuple[tuple[str, str, str], ...]
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class RetentionClaim:
    """What the retention review needs of an archived batch: its claim item's key, its manifest (the
    object's key), its retain-until date and the debts its records are about."""

    key: str
    manifest: bytes
    retain_until: date
    loan_ids: tuple[str, ...]


class ArchiveChainRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def head(self, jurisdiction: str) -> ChainHead:
        item = self._table.get_item(Key={"jurisdiction": jurisdiction}, ConsistentRead=True).get("Item")
        if item is None:
            return ChainHead(jurisdiction, 0, "", "", b"")
        raw: Any = item.get("last_manifest", b"")
        blob = bytes(raw.value) if hasattr(raw, "value") else bytes(raw)
        seq: Any = item["seq"]
        pending: Any = item.get("pending") or set()
        return ChainHead(
            jurisdiction,
            int(seq),
            str(item["manifest_sha256"]),
            str(item.get("last_batch_id", "")),
            blob,
            frozenset(str(b) for b in pending),
        )

    @staticmethod
    def _claim_key(jurisdiction: str, batch_id: str) -> str:
        return f"{jurisdiction}#batch#{batch_id}"

    def claimed(self, jurisdiction: str, batch_id: str) -> bytes | None:
        """The manifest the chain gave `batch_id`, if it was appended already (crash recovery)."""
        item = self._table.get_item(
            Key={"jurisdiction": self._claim_key(jurisdiction, batch_id)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        raw: Any = item["manifest"]
        return bytes(raw.value) if hasattr(raw, "value") else bytes(raw)

    def claim(self, jurisdiction: str, batch_id: str) -> ChainClaim | None:
        """The whole claim of `batch_id` (None when the chain has no such batch)."""
        item = self._table.get_item(
            Key={"jurisdiction": self._claim_key(jurisdiction, batch_id)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        raw: Any = item["manifest"]
        records: Any = item.get("records") or []
        data: Any = item.get("data") or b""
        return ChainClaim(
            batch_id,
            bytes(raw.value) if hasattr(raw, "value") else bytes(raw),
            str(item.get("retain_until", "")),
            tuple((str(r[0]), str(r[1]), str(r[2])) for r in records),
            bytes(data.value) if hasattr(data, "value") else bytes(data),
        )

    def advance(
        self,
        previous: ChainHead,
        manifest_sha256: str,
        batch_id: str,
        manifest: bytes,
        *,
        retain_until: str = "",
        records: Sequence[tuple[str, str, str]] = (),
        data: bytes = b"",
    ) -> bool:
        """Move the head from `previous` to the next seq and record the batch's manifest, atomically.

        False when another writer moved the head first, or when this batch is in the chain already
        (then `claimed` returns its manifest). The claim item (`<J>#batch#<batch-id>`) is what lets a
        retry after a crash between the chain write and the manifest PUT find its seq again, even if
        other batches were appended meanwhile; the batch joins the head's `pending` set until
        `completed`, so a run that never comes back (Lambda bisected the batch, the halves got other
        batch ids) does not leave it half-written: the next archiver of the jurisdiction completes it.
        """
        head: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"jurisdiction": previous.jurisdiction},
            "UpdateExpression": "SET seq = :next, manifest_sha256 = :sha, last_batch_id = :b, "
            "last_manifest = :m ADD pending :p",
            "ConditionExpression": "attribute_not_exists(seq)",
            "ExpressionAttributeValues": {
                ":next": previous.seq + 1,
                ":sha": manifest_sha256,
                ":b": batch_id,
                ":m": manifest,
                ":p": {batch_id},
            },
        }
        if previous.seq:
            head["ConditionExpression"] = "seq = :prev"
            head["ExpressionAttributeValues"][":prev"] = previous.seq
        claim: dict[str, Any] = {
            "TableName": self._table.name,
            "Item": {
                "jurisdiction": self._claim_key(previous.jurisdiction, batch_id),
                "seq": previous.seq + 1,
                "manifest": manifest,
                "retain_until": retain_until,
                "records": [list(r) for r in records],
                "data": data,
            },
            "ConditionExpression": "attribute_not_exists(jurisdiction)",
        }
        if retain_until:  # RetentionIndex (sparse): the claims whose objects' retention is reviewed
            claim["Item"][RETENTION_PARTITION] = previous.jurisdiction
        client: Any = self._table.meta.client
        written = conditional_write(
            client.transact_write_items,
            refused_by=TRANSACTION_REFUSED,
            TransactItems=[{"Update": head}, {"Put": claim}],
        )
        return written is not None

    def due_for_review(self, jurisdiction: str, through: date) -> list[RetentionClaim]:
        """The claims of `jurisdiction` whose objects are locked until `through` or earlier (all pages of
        the sparse RetentionIndex, which projects the object's records and the retain-until date)."""
        items = all_items(
            self._table.query,
            IndexName=RETENTION_INDEX,
            KeyConditionExpression=Key(RETENTION_PARTITION).eq(jurisdiction)
            & Key("retain_until").lte(through.isoformat()),
        )
        claims = []
        for item in items:
            raw: Any = item["manifest"]
            records: Any = item.get("records") or []
            claims.append(
                RetentionClaim(
                    key=str(item["jurisdiction"]),
                    manifest=bytes(raw.value) if hasattr(raw, "value") else bytes(raw),
                    retain_until=date.fromisoformat(str(item["retain_until"])),
                    loan_ids=tuple(sorted({str(r[0]) for r in records})),
                )
            )
        return claims

    def extend_retention(self, claim_key: str, until: date, previous: date) -> bool:
        """Move a claim's `retain_until` to `until` (after its objects' retention was extended), keeping
        the date set at the write in `retain_until_at_write`; False when another run moved it first."""
        written = conditional_write(
            self._table.update_item,
            Key={"jurisdiction": claim_key},
            UpdateExpression=(
                "SET retain_until = :u, retain_until_at_write = if_not_exists(retain_until_at_write, :p)"
            ),
            ExpressionAttributeValues={":u": until.isoformat(), ":p": previous.isoformat()},
            ConditionExpression=Attr("retain_until").eq(previous.isoformat()),
        )
        return written is not None

    def retention_ended(self, claim_key: str, on: date) -> None:
        """The claim's objects are past retention and marked for deletion: it leaves the RetentionIndex
        and drops its copy of the data (kept for crash recovery only). Repeatable."""
        self._table.update_item(
            Key={"jurisdiction": claim_key},
            UpdateExpression=f"SET retention_ended_on = :d REMOVE {RETENTION_PARTITION}, #data",
            ExpressionAttributeNames={"#data": "data"},
            ExpressionAttributeValues={":d": on.isoformat()},
        )

    def completed(self, jurisdiction: str, batch_id: str) -> None:
        """The batch's manifest and TTL marks are written: drop it from the head's `pending` set
        (a set DELETE: commutes with any append, repeating it changes nothing)."""
        self._table.update_item(
            Key={"jurisdiction": jurisdiction},
            UpdateExpression="DELETE pending :p",
            ExpressionAttributeValues={":p": {batch_id}},
        )
