-- Athena tables for the collection-outcome report (tools/arrears_report): the same table names and
-- columns DuckDB opens locally over a demo's out/data/ and out/archive/ (arrears_report/tables.py),
-- so the queries in tools/arrears_report/sql/ run unchanged here. Run them with the query execution
-- context's database set to arrears_reporting.
-- Replace ${ReportingBucket} with the stack output ReportingBucketName. The contacts come from the
-- archive's view (infrastructure/athena/contacts.sql, created first). Loans and transitions are the
-- snapshots ReportingExportFunction writes (arrears.usecases.reporting_export, weekly by default):
-- gzipped JSON Lines under loans/snapshot=<date>/ and transitions/snapshot=<date>/, and a marker
-- snapshots/snapshot=<date>/complete.json written last. `loans` and `transitions` are views of the
-- latest snapshot that has its marker, so a query never reads a half-written export. Partitions are
-- projected (no MSCK REPAIR, no crawler).

CREATE DATABASE IF NOT EXISTS arrears_reporting;

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_reporting.completed_snapshots (
  snapshot         string,
  `rows`           map<string,bigint>
)
PARTITIONED BY (snapshot_on string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ReportingBucket}/snapshots/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.snapshot_on.type' = 'date',
  'projection.snapshot_on.format' = 'yyyy-MM-dd',
  'projection.snapshot_on.range' = '2020-01-01,NOW',
  'projection.snapshot_on.interval' = '1',
  'projection.snapshot_on.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${ReportingBucket}/snapshots/snapshot=${snapshot_on}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_reporting.loan_snapshots (
  loan_id          string,
  jurisdiction     string,
  strategy_arm     string,
  disbursed_on     string,
  currency         string,
  principal_minor  bigint,
  status           string,
  bucket           string,
  dpd              int,
  charged_off_on   string,
  recovered_minor  bigint,
  balance_minor    bigint
)
PARTITIONED BY (snapshot_on string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ReportingBucket}/loans/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.snapshot_on.type' = 'date',
  'projection.snapshot_on.format' = 'yyyy-MM-dd',
  'projection.snapshot_on.range' = '2020-01-01,NOW',
  'projection.snapshot_on.interval' = '1',
  'projection.snapshot_on.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${ReportingBucket}/loans/snapshot=${snapshot_on}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_reporting.transition_snapshots (
  loan_id          string,
  jurisdiction     string,
  strategy_arm     string,
  disbursed_on     string,
  changed_on       string,
  from_state       string,
  to_state         string,
  dpd              int,
  version          bigint
)
PARTITIONED BY (snapshot_on string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ReportingBucket}/transitions/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.snapshot_on.type' = 'date',
  'projection.snapshot_on.format' = 'yyyy-MM-dd',
  'projection.snapshot_on.range' = '2020-01-01,NOW',
  'projection.snapshot_on.interval' = '1',
  'projection.snapshot_on.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${ReportingBucket}/transitions/snapshot=${snapshot_on}/'
);

CREATE OR REPLACE VIEW arrears_reporting.loans AS
SELECT loan_id, jurisdiction, strategy_arm, disbursed_on, currency, principal_minor, status, bucket, dpd, charged_off_on, recovered_minor, balance_minor
FROM arrears_reporting.loan_snapshots
WHERE snapshot_on = (SELECT max(snapshot_on) FROM arrears_reporting.completed_snapshots);

CREATE OR REPLACE VIEW arrears_reporting.transitions AS
SELECT loan_id, jurisdiction, strategy_arm, disbursed_on, changed_on, from_state, to_state, dpd, version
FROM arrears_reporting.transition_snapshots
WHERE snapshot_on = (SELECT max(snapshot_on) FROM arrears_reporting.completed_snapshots);

-- held_by: the rule the record's receipt failed (NULL when none), as the local DuckDB view computes it.
CREATE OR REPLACE VIEW arrears_reporting.contacts AS
SELECT contact_id, loan_id, borrower_token, channel, status, occurred_at, strategy, decided_by, result,
       regexp_extract(array_join(rules_checked, ','), '([a-z0-9_.]+):FAIL', 1) AS held_by, jurisdiction, dt
FROM arrears_archive.contacts;

CREATE OR REPLACE VIEW arrears_reporting.plan_events AS
SELECT plan.plan_id AS plan_id, loan_id, jurisdiction, event, instalment, plan.approval AS approval, "at" AS occurred_at
FROM arrears_archive.plan_events_raw;

CREATE OR REPLACE VIEW arrears_reporting.plan_requests AS
SELECT request_id, loan_id, jurisdiction, details.decision AS decision, "at" AS occurred_at
FROM arrears_archive.plan_requests_raw;

CREATE OR REPLACE VIEW arrears_reporting.hardship_requests AS
SELECT request_id, loan_id, jurisdiction, details.reason AS reason, "at" AS occurred_at
FROM arrears_archive.hardship_requests_raw;

CREATE OR REPLACE VIEW arrears_reporting.dispute_requests AS
SELECT request_id, loan_id, jurisdiction, details.reason AS reason, "at" AS occurred_at
FROM arrears_archive.dispute_requests_raw;

CREATE OR REPLACE VIEW arrears_reporting.complaint_requests AS
SELECT request_id, loan_id, jurisdiction, details.category AS category, "at" AS occurred_at
FROM arrears_archive.complaint_requests_raw;

CREATE OR REPLACE VIEW arrears_reporting.promise_events AS
SELECT loan_id, jurisdiction, event, promised_for, "at" AS occurred_at
FROM arrears_archive.promise_events_raw;

CREATE OR REPLACE VIEW arrears_reporting.preference_changes AS
SELECT change_id, borrower_token, record_type, channel, applied, occurred_at
FROM arrears_archive.preference_changes_raw;
