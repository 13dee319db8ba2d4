-- Delinquency episodes: from a loan's entry into a delinquent bucket (from current, from nothing at
-- registration, or back from a closed state after a reversal) to its next non-delinquent state: a
-- cure (M0, or CLOSED: repaid), a charge-off, or nothing yet (still delinquent at the end of the
-- data). `contacts_made` counts the contacts made from the episode's start to its end (contacts.sql:
-- a text, e-mail or letter sent, a call attempt, a field visit made; not a call or visit task queued,
-- nor a bureau or legal hand-off): a cure with none is a self-cure. Contact dates are the UTC date of
-- the contact.
WITH ordered AS (
  SELECT loan_id, jurisdiction, strategy_arm, changed_on, to_state, version,
         lag(to_state) OVER (PARTITION BY loan_id ORDER BY version) AS previous_state
  FROM transitions
),
starts AS (
  SELECT loan_id, jurisdiction, strategy_arm, changed_on AS started_on, version
  FROM ordered
  WHERE to_state NOT IN ('M0', 'CLOSED', 'CHARGED_OFF')
    AND (previous_state IS NULL OR previous_state IN ('M0', 'CLOSED', 'CHARGED_OFF'))
),
ends AS (
  SELECT loan_id, changed_on AS ended_on, to_state AS end_state, version
  FROM ordered
  WHERE to_state IN ('M0', 'CLOSED', 'CHARGED_OFF')
    AND previous_state IS NOT NULL AND previous_state NOT IN ('M0', 'CLOSED', 'CHARGED_OFF')
),
episodes AS (
  SELECT s.loan_id, s.jurisdiction, s.strategy_arm, s.started_on, s.version, min(e.version) AS end_version
  FROM starts s
  LEFT JOIN ends e ON e.loan_id = s.loan_id AND e.version > s.version
  GROUP BY s.loan_id, s.jurisdiction, s.strategy_arm, s.started_on, s.version
),
closed AS (
  SELECT p.loan_id, p.jurisdiction, p.strategy_arm, p.started_on, e.ended_on, e.end_state
  FROM episodes p
  LEFT JOIN ends e ON e.loan_id = p.loan_id AND e.version = p.end_version
)
SELECT c.loan_id, c.jurisdiction, c.strategy_arm, c.started_on, c.ended_on, c.end_state,
       CASE WHEN c.end_state IN ('M0', 'CLOSED') THEN 1 ELSE 0 END AS cured,
       CASE WHEN c.ended_on IS NULL THEN NULL
            ELSE date_diff('day', CAST(c.started_on AS date), CAST(c.ended_on AS date)) END AS days_to_end,
       sum(CASE WHEN k.contact_id IS NULL THEN 0 ELSE 1 END) AS contacts_made
FROM closed c
LEFT JOIN contacts k
  ON k.loan_id = c.loan_id
 AND k.status = 'SENT'
 AND (k.channel IN ('SMS', 'EMAIL', 'LETTER') OR coalesce(k.result, '') <> '')
 AND substr(k.occurred_at, 1, 10) >= c.started_on
 AND (c.ended_on IS NULL OR substr(k.occurred_at, 1, 10) <= c.ended_on)
GROUP BY c.loan_id, c.jurisdiction, c.strategy_arm, c.started_on, c.ended_on, c.end_state
ORDER BY c.loan_id, c.started_on
