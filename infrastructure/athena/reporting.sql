-- Athena tables for the collection-outcome report (tools/arrears_report): the same table names and
-- columns DuckDB opens locally over a demo's out/data/ and out/archive/ (arrears_report/tables.py),
-- so the queries in tools/arrears_report/sql/ run unchanged here. Run them with the query execution
-- context's database set to arrears_reporting.
-- Replace ${ArchiveBucket} with the stack output ArchiveBucketName. The contacts come from the
-- archive's view (infrastructure/athena/contacts.sql, created first); loans and transitions are JSON
-- Lines files under the bucket's reporting/ prefix, one file per export
-- (reporting/loans/<export>.jsonl, reporting/transitions/<export>.jsonl), written in the shape of
-- localcloud/export.py from the Loans and DelinquencyHistory tables.

CREATE DATABASE IF NOT EXISTS arrears_reporting;

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_reporting.loans (
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
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/reporting/loans/';

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_reporting.transitions (
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
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/reporting/transitions/';

CREATE OR REPLACE VIEW arrears_reporting.contacts AS
SELECT contact_id, loan_id, channel, status, occurred_at, strategy, jurisdiction, dt
FROM arrears_archive.contacts;
