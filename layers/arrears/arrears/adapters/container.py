"""Builds the adapters a handler needs, once per Lambda container, each on its first use.

A handler module makes its container at import (`Container.from_environment()`), which only copies
the environment: the settings are validated (pydantic-settings), the boto3 session and each client
built, and each adapter's module imported when an invocation first needs them. A cold start pays
for what the function uses, once, and the import (the part Lambda's init phase waits for) stays
close to the floor of `import boto3` and a Powertools Logger (`benchmarks/cold_import.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from arrears.adapters.clock import Clock, WallClock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBServiceResource

    from arrears.adapters.archive_store import ArchiveStore
    from arrears.adapters.book_stock import BookStockRepository
    from arrears.adapters.borrower_requests import BorrowerRequestRepository
    from arrears.adapters.bureau_files import BureauFileStore, JsonLinesCreditReportWriter
    from arrears.adapters.call_ledger import CallLedgerRepository
    from arrears.adapters.case_files import CaseFileStore
    from arrears.adapters.channels import SmsSender, TaskQueue, TopicPublisher
    from arrears.adapters.credit_facts import CreditFactsRepository
    from arrears.adapters.delinquency_history import DelinquencyHistoryRepository
    from arrears.adapters.desk import DeskRepository, TaskIntake
    from arrears.adapters.due_list import DueList
    from arrears.adapters.dynamodb import (
        ActionRepository,
        ArchiveChainRepository,
        BorrowerRepository,
        ContactRepository,
        LoanRepository,
    )
    from arrears.adapters.gate_reads import GateReads
    from arrears.adapters.outbox import SendOutbox
    from arrears.adapters.payments_ledger import PaymentLedger
    from arrears.adapters.reporting_store import ReportingSource, ReportingStore
    from arrears.adapters.secrets import TokenSecret
    from arrears.adapters.sweep_runs import SweepRunRepository, SweepTaskQueue
    from arrears.config.playbook import PlaybookSource
    from arrears.config.settings import Settings

# Each adapter's module is imported by the property that builds it, on first use: a handler's cold
# import pays only for what it wires (the dispatcher does not import the playbook's models, the
# payment ledger or the phone-number library for the lookup keys it never writes).
# Standard retry mode backs off on throttling (SNS, SQS, DynamoDB) without duplicating effects:
# every write we retry is conditional or idempotent by key.
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)


class Container:
    """The adapters of one function.

    `settings` is the function's `Settings`, or its environment (the variables' mapping), validated
    into them on first use: an invalid environment raises `ConfigurationError` from the first
    invocation that reads a setting (a deployment problem, reported on every invocation until fixed,
    never a per-event error). `session` is the boto3 session (a new default one, built on first use,
    when None); `clock` the instant a contact is made (adapters/clock.py): the wall clock in Lambda,
    the local cloud's simulated clock there.
    """

    def __init__(
        self,
        settings: Settings | Mapping[str, str],
        session: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self._given = settings
        self._given_session = session
        self.clock: Clock = clock or WallClock()

    @classmethod
    def from_environment(cls, clock: Clock | None = None) -> Container:
        """The container of this process's environment (copied now, validated on first use)."""
        return cls(dict(os.environ), None, clock or WallClock())

    def __repr__(self) -> str:
        return f"Container(clock={self.clock!r})"

    @cached_property
    def settings(self) -> Settings:
        from arrears.config.settings import Settings, load_settings

        given = self._given
        return given if isinstance(given, Settings) else load_settings(given)

    @cached_property
    def _session(self) -> Any:
        return self._given_session or boto3.session.Session()

    def playbook_source(self, report: Callable[[str], None] | None = None) -> PlaybookSource:
        """The collection policy every function that assesses or plans must share: the SSM document
        (cached `STRATEGY_MAX_AGE_SECONDS`), or the bundled one. Milestones come from it too, so the
        sweep, payments and holds must read the same document as the planner."""
        from arrears.config.playbook import PlaybookSource

        return PlaybookSource(
            self.settings.strategy_parameter_name,
            max_age=self.settings.strategy_max_age_seconds,
            report=report,
        )

    def client(self, service: str) -> Any:
        return self._session.client(service, config=BOTO_CONFIG)

    @cached_property
    def _dynamodb(self) -> DynamoDBServiceResource:
        resource: DynamoDBServiceResource = self._session.resource("dynamodb", config=BOTO_CONFIG)
        return resource

    @cached_property
    def loans(self) -> LoanRepository:
        from arrears.adapters.due_list import DueList
        from arrears.adapters.dynamodb import LoanRepository

        due = self.settings.review_due_table
        return LoanRepository(
            self._dynamodb.Table(self.settings.loans_table),
            shard_count=self.settings.shard_count,
            due_list=DueList(self._dynamodb.Table(due)) if due else None,
        )

    @cached_property
    def due_list(self) -> DueList:
        """The sweep's due list (`REVIEW_DUE_TABLE`): the review lister writes it, the sweep reads it."""
        from arrears.adapters.due_list import DueList

        if not self.settings.review_due_table:
            raise RuntimeError("REVIEW_DUE_TABLE is not set: this function has no due list")
        return DueList(self._dynamodb.Table(self.settings.review_due_table))

    @cached_property
    def payments(self) -> PaymentLedger:
        from arrears.adapters.payments_ledger import PaymentLedger

        if not self.settings.payments_table:
            raise RuntimeError("PAYMENTS_TABLE is not set: this function has no payment ledger")
        return PaymentLedger(self._dynamodb.Table(self.settings.payments_table))

    @cached_property
    def borrowers(self) -> BorrowerRepository:
        from arrears.adapters.dynamodb import BorrowerRepository
        from arrears.domain.optouts import borrower_lookup_keys

        # A stored borrower carries its lookup keys (keyed hashes: the secret is read on the first put).
        return BorrowerRepository(
            self._dynamodb.Table(self.settings.borrowers_table),
            lambda borrower: borrower_lookup_keys(self.token_secret.value(), borrower),
        )

    @cached_property
    def actions(self) -> ActionRepository:
        from arrears.adapters.dynamodb import ActionRepository

        return ActionRepository(self._dynamodb.Table(self.settings.actions_table))

    @cached_property
    def gate_reads(self) -> GateReads:
        """The dispatcher's one read of an action, its loan and its borrower (adapters/gate_reads.py)."""
        from arrears.adapters.gate_reads import GateReads

        table = self._dynamodb.Table
        settings = self.settings
        return GateReads(
            table(settings.actions_table),
            table(settings.loans_table),
            table(settings.borrowers_table),
            table(settings.contact_caps_table) if settings.contact_caps_table else None,
            table(settings.idempotency_table),
        )

    @cached_property
    def contacts(self) -> ContactRepository:
        from arrears.adapters.dynamodb import ContactRepository

        return ContactRepository(self._dynamodb.Table(self.settings.contacts_table))

    @cached_property
    def archive_chain(self) -> ArchiveChainRepository:
        from arrears.adapters.dynamodb import ArchiveChainRepository

        return ArchiveChainRepository(self._dynamodb.Table(self.settings.archive_chain_table))

    @cached_property
    def _sns(self) -> Any:
        return self.client("sns")

    @cached_property
    def sms(self) -> SmsSender:
        from arrears.adapters.channels import SmsSender

        return SmsSender(self._sns, self.settings.sms_sender_id)

    @cached_property
    def reminders(self) -> TopicPublisher:
        from arrears.adapters.channels import TopicPublisher

        return TopicPublisher(self._sns, self.settings.reminders_topic_arn)

    @cached_property
    def field_visits(self) -> TaskQueue:
        from arrears.adapters.channels import TaskQueue

        return TaskQueue(self.client("sqs"), self.settings.field_visit_queue_url)

    @cached_property
    def archive_store(self) -> ArchiveStore:
        from arrears.adapters.archive_store import ArchiveStore
        from arrears.domain.archive import ArchiveLock

        lock = ArchiveLock(self.settings.archive_lock_mode, self.settings.archive_lock_days)
        return ArchiveStore(
            self.client("s3"),
            self.settings.archive_bucket,
            self.settings.archive_kms_key_id,
            lock=lock,
            clock=self.clock,
        )

    @cached_property
    def case_files(self) -> CaseFileStore:
        """The restricted case-file bucket (set on the case-file function only)."""
        from arrears.adapters.case_files import CaseFileStore

        if not self.settings.case_file_bucket:
            raise RuntimeError("CASE_FILE_BUCKET is not set: this function writes no case files")
        return CaseFileStore(
            self.client("s3"), self.settings.case_file_bucket, self.settings.case_file_kms_key_id
        )

    @cached_property
    def token_secret(self) -> TokenSecret:
        from arrears.adapters.secrets import TokenSecret

        return TokenSecret(self.client("secretsmanager"), self.settings.token_secret_arn)

    @cached_property
    def opt_out_link_secret(self) -> TokenSecret:
        """The HMAC key that signs e-mail unsubscribe links (not the borrower-token key: it may rotate)."""
        from arrears.adapters.secrets import TokenSecret

        if not self.settings.opt_out_link_secret_arn:
            raise RuntimeError("OPT_OUT_LINK_SECRET_ARN is not set: this function signs no opt-out links")
        return TokenSecret(self.client("secretsmanager"), self.settings.opt_out_link_secret_arn)

    @cached_property
    def call_ledger(self) -> CallLedgerRepository:
        from arrears.adapters.call_ledger import CallLedgerRepository

        return CallLedgerRepository(self._dynamodb.Table(self.settings.contact_caps_table))

    @cached_property
    def outbox(self) -> SendOutbox:
        """Each contact handed to SNS/SQS at most once (adapters/outbox.py), in the idempotency table."""
        from arrears.adapters.outbox import SendOutbox

        return SendOutbox(self._dynamodb.Table(self.settings.idempotency_table), self.clock)

    @cached_property
    def call_tasks(self) -> TaskQueue:
        from arrears.adapters.channels import TaskQueue

        return TaskQueue(self.client("sqs"), self.settings.call_task_queue_url)

    @cached_property
    def legal(self) -> TopicPublisher:
        from arrears.adapters.channels import TopicPublisher

        return TopicPublisher(self._sns, self.settings.legal_topic_arn)

    @cached_property
    def bureau(self) -> TopicPublisher:
        from arrears.adapters.channels import TopicPublisher

        return TopicPublisher(self._sns, self.settings.bureau_topic_arn)

    @cached_property
    def sweep_tasks(self) -> SweepTaskQueue:
        from arrears.adapters.sweep_runs import SweepTaskQueue

        return SweepTaskQueue(self.client("sqs"), self.settings.sweep_tasks_queue_url)

    @cached_property
    def sweep_runs(self) -> SweepRunRepository:
        from arrears.adapters.sweep_runs import SweepRunRepository

        return SweepRunRepository(self._dynamodb.Table(self.settings.sweep_runs_table))

    @cached_property
    def delinquency_history(self) -> DelinquencyHistoryRepository | None:
        """None when the function has no DelinquencyHistory table (only the planner writes it)."""
        from arrears.adapters.delinquency_history import DelinquencyHistoryRepository

        if not self.settings.delinquency_history_table:
            return None
        return DelinquencyHistoryRepository(self._dynamodb.Table(self.settings.delinquency_history_table))

    @cached_property
    def credit_facts(self) -> CreditFactsRepository | None:
        """The bureau facts on the DelinquencyHistory items (None when the function has no such table)."""
        from arrears.adapters.credit_facts import CreditFactsRepository

        if not self.settings.delinquency_history_table:
            return None
        return CreditFactsRepository(self._dynamodb.Table(self.settings.delinquency_history_table))

    @cached_property
    def bureau_files(self) -> BureauFileStore:
        from arrears.adapters.bureau_files import BureauFileStore

        if not self.settings.bureau_files_bucket:
            raise RuntimeError("BUREAU_FILES_BUCKET is not set: this function writes no bureau file")
        return BureauFileStore(
            self.client("s3"), self.settings.bureau_files_bucket, self.settings.archive_kms_key_id
        )

    @cached_property
    def cn_credit_writer(self) -> JsonLinesCreditReportWriter | None:
        """The CN credit-reporting writer (JSON Lines in the bureau bucket); None without the bucket."""
        from arrears.adapters.bureau_files import JsonLinesCreditReportWriter

        return JsonLinesCreditReportWriter(self.bureau_files) if self.settings.bureau_files_bucket else None

    @cached_property
    def book_stock(self) -> BookStockRepository | None:
        """None when the function has no BookStock table (the planner, sweep and sweep worker have it)."""
        from arrears.adapters.book_stock import BookStockRepository

        if not self.settings.book_stock_table:
            return None
        return BookStockRepository(self._dynamodb.Table(self.settings.book_stock_table))

    @cached_property
    def borrower_requests(self) -> BorrowerRequestRepository:
        if not self.settings.borrower_requests_table:
            raise RuntimeError(
                "BORROWER_REQUESTS_TABLE is not set: this function records no borrower requests"
            )
        from arrears.adapters.borrower_requests import BorrowerRequestRepository

        return BorrowerRequestRepository(self._dynamodb.Table(self.settings.borrower_requests_table))

    @cached_property
    def desk(self) -> DeskRepository:
        if not self.settings.desk_table:
            raise RuntimeError("DESK_TABLE is not set: this function serves no collector's desk")
        from arrears.adapters.desk import DeskRepository

        return DeskRepository(self._dynamodb.Table(self.settings.desk_table))

    @cached_property
    def task_intake(self) -> TaskIntake:
        """The desk's reader of the dispatcher's task queues (call tasks, field visits)."""
        from arrears.adapters.desk import TaskIntake

        queues = {"call": self.settings.call_task_queue_url, "visit": self.settings.field_visit_queue_url}
        return TaskIntake(self.client("sqs"), queues)

    @cached_property
    def reporting_store(self) -> ReportingStore:
        if not self.settings.reporting_bucket:
            raise RuntimeError("REPORTING_BUCKET is not set: this function writes no reporting snapshot")
        from arrears.adapters.reporting_store import ReportingStore

        return ReportingStore(
            self.client("s3"), self.settings.reporting_bucket, self.settings.archive_kms_key_id
        )

    @cached_property
    def reporting_segments(self) -> SweepTaskQueue:
        """The reporting export's queue of Scan segments (one message per table and segment)."""
        from arrears.adapters.sweep_runs import SweepTaskQueue

        return SweepTaskQueue(
            self.client("sqs"), self.settings.reporting_segments_queue_url, name="reporting-segments"
        )

    @cached_property
    def reporting_source(self) -> ReportingSource:
        """The Loans and DelinquencyHistory tables, read by Scan segment for the reporting export."""
        from arrears.adapters.reporting_store import ReportingSource

        return ReportingSource(
            self._dynamodb, self.settings.loans_table, self.settings.delinquency_history_table
        )

    def loan_ids_for_borrower(self, borrower_id: str) -> list[str]:
        from arrears.adapters.dynamodb import loan_ids_for_borrower

        return loan_ids_for_borrower(self._dynamodb.Table(self.settings.loans_table), borrower_id)
