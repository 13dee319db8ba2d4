-- Bucket stock over time: loans per delinquency state on each date a transition happened, per
-- jurisdiction and strategy arm. A loan's state on a date is the state its last transition up to
-- that date entered (dates are ISO strings: they compare as dates).
WITH days AS (
  SELECT DISTINCT changed_on AS day FROM transitions
),
latest AS (
  SELECT d.day, t.loan_id, t.jurisdiction, t.strategy_arm, t.to_state,
         row_number() OVER (PARTITION BY d.day, t.loan_id ORDER BY t.version DESC) AS recency
  FROM days d
  JOIN transitions t ON t.changed_on <= d.day
)
SELECT day, jurisdiction, strategy_arm, to_state AS state, count(*) AS loans
FROM latest
WHERE recency = 1
GROUP BY day, jurisdiction, strategy_arm, to_state
ORDER BY day, jurisdiction, strategy_arm, state
