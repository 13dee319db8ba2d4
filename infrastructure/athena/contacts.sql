-- Athena tables over the contact archive (key layout: docs/architecture.md), with partition projection:
-- no crawler and no MSCK REPAIR; every (jurisdiction, dt) partition is computed from the query's predicates.
-- Replace ${ArchiveBucket} with the stack output ArchiveBucketName (or deploy glue.yaml, which
-- creates the same tables). Query through the views: the raw tables also see the manifests that sit
-- beside the data objects. `jurisdiction` is a partition column only (Athena forbids a data column
-- of the same name); `arrears-audit verify` checks that every line's jurisdiction is its partition's.

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.contacts_raw (
  contact_id          string,
  loan_id             string,
  borrower_token      string,
  channel             string,
  step                string,
  status              string,
  occurred_at         string,
  borrower_timezone   string,
  borrower_local_time string,
  rule_pack           string,
  strategy            string,
  dpd                 int,
  bucket              string,
  amount_due_minor    bigint,
  currency            string,
  reason              string,
  template_id         string,
  message_sha256      string,
  rules_checked       array<string>,
  decided_by          string,
  zones_checked       array<string>,
  task_id             string,
  attempt             int,
  result              string,
  conversation        boolean,
  collector_ids       array<string>,
  recording_ref       string
)
PARTITIONED BY (jurisdiction string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/contacts/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.jurisdiction.type'    = 'enum',
  'projection.jurisdiction.values'  = 'CN,US-REGF',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/contacts/jurisdiction=${jurisdiction}/dt=${dt}/'
);

-- One row per contact: data objects only, and a record archived twice (a retried, re-split stream
-- batch) counted once.
CREATE OR REPLACE VIEW arrears_archive.contacts AS
SELECT contact_id, loan_id, borrower_token, channel, step, status, occurred_at, borrower_timezone,
       borrower_local_time, rule_pack, strategy, dpd, bucket, amount_due_minor, currency, reason,
       template_id, message_sha256, rules_checked, decided_by, zones_checked, task_id, attempt,
       result, conversation, collector_ids, recording_ref, jurisdiction, dt
FROM (
  SELECT r.*, row_number() OVER (PARTITION BY jurisdiction, dt, contact_id ORDER BY "$path") AS copy
  FROM arrears_archive.contacts_raw r
  WHERE "$path" LIKE '%.jsonl.gz' AND contact_id IS NOT NULL
)
WHERE copy = 1;

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.contact_manifests_raw (
  object_key           string,
  sha256               string,
  records              int,
  seq                  bigint,
  prev_manifest_sha256 string
)
PARTITIONED BY (jurisdiction string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/contacts/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.jurisdiction.type'    = 'enum',
  'projection.jurisdiction.values'  = 'CN,US-REGF',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/contacts/jurisdiction=${jurisdiction}/dt=${dt}/'
);

CREATE OR REPLACE VIEW arrears_archive.contact_manifests AS
SELECT object_key, sha256, records, seq, prev_manifest_sha256, jurisdiction, dt
FROM arrears_archive.contact_manifests_raw
WHERE "$path" LIKE '%.manifest.json' AND object_key IS NOT NULL;

-- The audit records of erasure requests (one JSON object per file).
CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.erasures (
  record_type            string,
  request_id             string,
  borrower_token         string,
  requested_at           string,
  erased_at              string,
  borrower_found         boolean,
  fields_erased          array<string>,
  loans                  int,
  contacts_pseudonymised int,
  archive                string
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/erasures/'
TBLPROPERTIES (
  'projection.enabled'         = 'true',
  'projection.dt.type'         = 'date',
  'projection.dt.format'       = 'yyyy-MM-dd',
  'projection.dt.range'        = '2026-01-01,NOW',
  'projection.dt.interval'     = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template'  = 's3://${ArchiveBucket}/erasures/dt=${dt}/'
);

-- Examples
-- Contact history of one loan:
--   SELECT occurred_at, channel, step, status, dpd, reason FROM arrears_archive.contacts
--   WHERE jurisdiction = 'CN' AND dt BETWEEN '2026-03-01' AND '2026-03-31' AND loan_id = 'L-000042'
--   ORDER BY occurred_at;
-- Regulation F 7-in-7 evidence: call attempts per loan per rolling week:
--   SELECT loan_id, count(*) FROM arrears_archive.contacts
--   WHERE jurisdiction = 'US-REGF' AND channel = 'CALL_TASK' AND dt BETWEEN '2026-03-01' AND '2026-03-07'
--   GROUP BY loan_id HAVING count(*) > 7;
-- Every contact with a borrower after an erasure request (should be none):
--   SELECT c.* FROM arrears_archive.contacts c JOIN arrears_archive.erasures e
--   ON c.borrower_token = e.borrower_token AND c.occurred_at > e.erased_at;

-- The repayment-plan records (docs/plans.md, "What the archive holds"): one JSON object per object,
-- plans/dt=<day>/<plan id>/<event>-<instalment>.json and borrower-requests/plan/dt=<day>/<request id>.json.
-- `jurisdiction` is a data column here (the partition is the day only).
CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.plan_events_raw (
  loan_id      string,
  jurisdiction string,
  event        string,
  instalment   int,
  `at`         string,
  plan         struct<plan_id:string,approval:string>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/plans/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/plans/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.plan_requests_raw (
  request_id   string,
  loan_id      string,
  jurisdiction string,
  `at`         string,
  details      struct<decision:string>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/borrower-requests/plan/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/borrower-requests/plan/dt=${dt}/'
);

-- Hardship and dispute requests: the reason the borrower gave, a code (the free text is never archived).
CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.hardship_requests_raw (
  request_id   string,
  loan_id      string,
  jurisdiction string,
  `at`         string,
  details      struct<reason:string>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/borrower-requests/hardship/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/borrower-requests/hardship/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.dispute_requests_raw (
  request_id   string,
  loan_id      string,
  jurisdiction string,
  `at`         string,
  details      struct<reason:string>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/borrower-requests/dispute/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/borrower-requests/dispute/dt=${dt}/'
);

-- Complaints: the category only (the borrower's text is never archived).
CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.complaint_requests_raw (
  request_id   string,
  loan_id      string,
  jurisdiction string,
  `at`         string,
  details      struct<category:string>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/borrower-requests/complaint/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/borrower-requests/complaint/dt=${dt}/'
);

-- Promises to pay Arrears recorded: made, kept, broken (one object per event, under the loan's folder).
CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.promise_events_raw (
  loan_id      string,
  jurisdiction string,
  event        string,
  promised_for string,
  `at`         string
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/promises/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/promises/dt=${dt}/'
);

-- Contact preference changes (opt-outs, opt-ins) by borrower token: no loan, no personal data.
CREATE EXTERNAL TABLE IF NOT EXISTS arrears_archive.preference_changes_raw (
  change_id    string,
  borrower_token string,
  record_type  string,
  channel      string,
  applied      boolean,
  occurred_at  string
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://${ArchiveBucket}/preferences/'
TBLPROPERTIES (
  'projection.enabled'              = 'true',
  'projection.dt.type'              = 'date',
  'projection.dt.format'            = 'yyyy-MM-dd',
  'projection.dt.range'             = '2026-01-01,NOW',
  'projection.dt.interval'          = '1',
  'projection.dt.interval.unit'     = 'DAYS',
  'storage.location.template'       = 's3://${ArchiveBucket}/preferences/dt=${dt}/'
);
