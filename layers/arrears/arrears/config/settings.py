"""The function's environment, validated once per Lambda container into a typed model (pydantic-settings).

Each field is read from the environment variable of its name in capitals (`LOANS_TABLE` ...);
docs/contracts.md lists them, template.yaml sets them. An invalid or incomplete environment is a
deployment problem (`ConfigurationError`), never an event's: a function's container validates its
environment on the first invocation that reads a setting, not at import (`arrears.adapters.container`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

MAX_SHARD_COUNT = 4096
"""The most shards a sweep is split into (`SHARD_COUNT`); a sweep task naming more is corrupt."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, case_sensitive=False, extra="ignore")

    loans_table: str = Field(min_length=1)
    borrowers_table: str = Field(min_length=1)
    actions_table: str = Field(min_length=1)
    contacts_table: str = Field(min_length=1)
    idempotency_table: str = Field(min_length=1)
    archive_chain_table: str = Field(min_length=1)
    # The payment ledger (one item per payment, for ever): set for the payments function.
    payments_table: str = ""
    # Each loan's bucket transitions (the planner appends them; reports read them).
    delinquency_history_table: str = ""
    # The book's stock and daily flows, counted from the transitions (planner, sweep, sweep worker).
    book_stock_table: str = ""
    reminders_topic_arn: str = Field(min_length=1)
    field_visit_queue_url: str = Field(min_length=1)
    archive_bucket: str = Field(min_length=1)
    archive_kms_key_id: str = Field(min_length=1)
    token_secret_arn: str = Field(min_length=1)
    shard_count: int = Field(default=16, ge=1, le=MAX_SHARD_COUNT)
    sms_sender_id: str = "Arrears"
    contact_ttl_days: int = Field(default=90, ge=1)
    # The stage's Object Lock on archived objects (`arrears.domain.archive.ArchiveLock`): prod COMPLIANCE
    # for the jurisdiction's retention (days 0); other stages GOVERNANCE for `archive_lock_days`.
    archive_lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    archive_lock_days: int = Field(default=0, ge=0, le=36_500)
    # The retention review's margin: objects whose lock ends within these days are reviewed
    # (arrears.usecases.retention).
    retention_horizon_days: int = Field(default=35, ge=1, le=365)
    # Sweep fan-out (set on the sweep and sweep-worker functions only; docs/contracts.md).
    sweep_tasks_queue_url: str = ""
    sweep_runs_table: str = ""
    # The sweep's due list of parked loans (the sweep worker only; arrears.adapters.due_list).
    review_due_table: str = ""
    sweep_time_budget_ms: int = Field(default=0, ge=0)  # 0: the invocation's own remaining time
    sweep_safety_margin_ms: int = Field(default=10_000, ge=0)
    sweep_page_size: int = Field(default=200, ge=1, le=1000)
    # The book's operating time zone: the sweep starts at 00:30 there and must finish by a local hour.
    sweep_timezone: str = "Asia/Shanghai"
    # The daily open-loan census after each shard's sweep (template parameter OpenLoanCensus).
    open_loan_census: Literal["Enabled", "Disabled"] = "Enabled"
    # Every how many days the census reconciles the stock from flows (CensusIntervalDays; 0 never).
    census_interval_days: int = Field(default=7, ge=0, le=366)
    # Open loans per sweep task: the fan-out is ceil(open loans / this), at most ShardCount tasks.
    sweep_loans_per_task: int = Field(default=20_000, ge=1)
    # Dispatch: the call ledger, the call-task queue and the hand-off topics (the template sets them all).
    contact_caps_table: str = ""
    call_task_queue_url: str = ""
    legal_topic_arn: str = ""
    # Court case files (the case-file function only): the restricted bucket and its KMS key.
    case_file_bucket: str = ""
    case_file_kms_key_id: str = ""
    bureau_topic_arn: str = ""
    dispatch_deferred_limit: int = Field(default=1000, ge=1)
    # The e-mail unsubscribe link: its base URL (template parameter OptOutBaseUrl, else the unsubscribe
    # function's URL), the Secrets Manager key that signs it, and how long a link stays valid.
    email_opt_out_url: str = ""
    opt_out_link_secret_arn: str = ""
    opt_out_link_ttl_days: int = Field(default=60, ge=1, le=365)
    # The borrower API: the table of borrower requests (promises, disputes, hardship, complaints).
    borrower_requests_table: str = ""
    # Credit-bureau files (arrears.usecases.bureau_file, cn_credit_reports): the bucket the Metro 2
    # files and CN records go to, and the furnisher's identification as the bureaus assigned it.
    bureau_files_bucket: str = ""
    bureau_furnisher_id: str = ""
    bureau_reporter_name: str = "ARREARS LENDER"
    # The collector's desk: the pool of leased tasks and the staff's certifications.
    desk_table: str = ""
    # The complaint deadline check: warn of open complaints this many days before their close-by date.
    complaint_warn_days: int = Field(default=3, ge=0, le=30)
    # The reporting export: the bucket its snapshots go to (rows for the outcome report's SQL), the
    # queue of its Scan segments, loans per segment (sizes the plan), items per part, and the time a
    # segment's invocation keeps in reserve before it re-queues the rest of its segment.
    reporting_bucket: str = ""
    reporting_segments_queue_url: str = ""
    reporting_loans_per_segment: int = Field(default=500_000, ge=1)
    reporting_part_items: int = Field(default=50_000, ge=1, le=1_000_000)
    reporting_safety_margin_ms: int = Field(default=60_000, ge=0)
    # SSM parameter holding the collection playbook document; empty = the bundled one.
    strategy_parameter_name: str = ""
    strategy_max_age_seconds: int = Field(default=300, ge=0)

    # Where the values come from: the process environment (and nothing else: no .env file, no secrets
    # directory), or only the values given (`load_settings` with a mapping).
    READS_ENVIRONMENT: ClassVar[bool] = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings) if cls.READS_ENVIRONMENT else (init_settings,)

    @field_validator("sweep_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @model_validator(mode="after")
    def _archive_lock(self) -> Settings:
        if (self.archive_lock_mode == "GOVERNANCE") != (self.archive_lock_days > 0):
            raise ValueError(
                "archive_lock_days: GOVERNANCE needs a period (days >= 1); "
                "COMPLIANCE takes the jurisdiction's retention (days 0)"
            )
        return self

    @property
    def census_enabled(self) -> bool:
        return self.open_loan_census == "Enabled"


class _GivenEnvironment(Settings):
    """`Settings` read from a given mapping of variables alone (the process environment is not read)."""

    READS_ENVIRONMENT: ClassVar[bool] = False


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid (a deployment problem, not bad input)."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process's environment, or of `environ` alone (a function's environment as the
    template sets it: the local cloud and the tests)."""
    try:
        if environ is None:
            return Settings()
        given = {name: environ[name.upper()] for name in Settings.model_fields if name.upper() in environ}
        checked = _GivenEnvironment.model_validate(given)
        return Settings.model_construct(_fields_set=checked.model_fields_set, **checked.model_dump())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        raise ConfigurationError(f"invalid function environment: {problems}") from None
