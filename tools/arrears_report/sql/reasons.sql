-- Why borrowers say they are late, from the archive alone: the reason each hardship request gave
-- (illness, job loss, disaster, ...) and each dispute (wrong amount, not mine, ...), a code, never the
-- borrower's words, per jurisdiction and strategy arm of the loan: requests, loans, and of those loans
-- the ones current or repaid at the end of the data (`resolved`: bucket M0 or CLOSED), the first sign
-- of what a pause or a verification did for them.
WITH said AS (
    SELECT loan_id, 'hardship' AS kind, coalesce(reason, 'not given') AS reason FROM hardship_requests
    UNION ALL
    SELECT loan_id, 'dispute' AS kind, coalesce(reason, 'not given') AS reason FROM dispute_requests
), per_loan AS (
    SELECT s.loan_id, s.kind, s.reason, count(*) AS requests
    FROM said s
    GROUP BY s.loan_id, s.kind, s.reason
)
SELECT l.jurisdiction, l.strategy_arm, p.kind, p.reason,
       sum(p.requests) AS requests,
       count(*) AS loans,
       sum(CASE WHEN l.status = 'CLOSED' OR (l.status = 'OPEN' AND l.bucket = 'M0') THEN 1 ELSE 0 END) AS resolved
FROM per_loan p
JOIN loans l ON l.loan_id = p.loan_id
GROUP BY l.jurisdiction, l.strategy_arm, p.kind, p.reason
ORDER BY l.jurisdiction, l.strategy_arm, p.kind, p.reason
