-- The roll-rate (transition) matrix: for every stay of a loan in an open state, the state it moved
-- to next (or the same state when it was still there at the end of the data), per jurisdiction and
-- strategy arm. The roll rate from M1 to M2 is loans(M1 -> M2) / sum over to_state of loans(M1 -> *).
WITH stays AS (
  SELECT jurisdiction, strategy_arm, to_state AS from_state,
         lead(to_state) OVER (PARTITION BY loan_id ORDER BY version) AS next_state
  FROM transitions
)
SELECT jurisdiction, strategy_arm, from_state, coalesce(next_state, from_state) AS to_state,
       count(*) AS loans
FROM stays
WHERE from_state NOT IN ('CLOSED', 'CHARGED_OFF')
GROUP BY jurisdiction, strategy_arm, from_state, coalesce(next_state, from_state)
ORDER BY jurisdiction, strategy_arm, from_state, to_state
