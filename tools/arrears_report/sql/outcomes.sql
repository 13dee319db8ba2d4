-- The counts behind the contact-outcome rates, per jurisdiction and strategy arm of the loan, from the
-- archive alone (so a deployed stack's Athena report has them too):
--   call_attempts: every call record with an outcome (the dialer's attempts and the desk's calls; the
--     call task's own record has none), right_party_contacts: those that reached the borrower;
--   promises / promises_kept: the promises to pay Arrears judged (kept or broken) and those kept;
--   complaints: the complaint requests archived (per loan, as filed);
--   opt_outs: the opt-outs that changed something, each counted once, on the loan of the borrower's
--     first contact (a preference is the borrower's, not a loan's; a borrower's loans share an arm).
WITH calls AS (
    SELECT loan_id,
           count(*) AS call_attempts,
           sum(CASE WHEN result = 'connected_borrower' THEN 1 ELSE 0 END) AS right_party_contacts,
           0 AS promises, 0 AS promises_kept, 0 AS complaints, 0 AS opt_outs
    FROM contacts
    WHERE channel = 'CALL_TASK' AND coalesce(result, '') <> ''
    GROUP BY loan_id
), judged AS (
    SELECT loan_id, 0 AS call_attempts, 0 AS right_party_contacts,
           count(*) AS promises, sum(CASE WHEN event = 'kept' THEN 1 ELSE 0 END) AS promises_kept,
           0 AS complaints, 0 AS opt_outs
    FROM promise_events
    WHERE event IN ('kept', 'broken')
    GROUP BY loan_id
), complained AS (
    SELECT loan_id, 0 AS call_attempts, 0 AS right_party_contacts, 0 AS promises, 0 AS promises_kept,
           count(*) AS complaints, 0 AS opt_outs
    FROM complaint_requests
    WHERE loan_id IS NOT NULL
    GROUP BY loan_id
), first_contact AS (
    SELECT borrower_token, loan_id,
           row_number() OVER (PARTITION BY borrower_token ORDER BY occurred_at, loan_id) AS n
    FROM contacts
    WHERE borrower_token IS NOT NULL
), opted AS (
    SELECT f.loan_id, 0 AS call_attempts, 0 AS right_party_contacts, 0 AS promises, 0 AS promises_kept,
           0 AS complaints, count(*) AS opt_outs
    FROM preference_changes p
    JOIN first_contact f ON f.borrower_token = p.borrower_token AND f.n = 1
    WHERE p.applied = true AND p.record_type = 'OPT_OUT'
    GROUP BY f.loan_id
), per_loan AS (
    SELECT * FROM calls
    UNION ALL SELECT * FROM judged
    UNION ALL SELECT * FROM complained
    UNION ALL SELECT * FROM opted
)
SELECT l.jurisdiction, l.strategy_arm,
       sum(p.call_attempts) AS call_attempts,
       sum(p.right_party_contacts) AS right_party_contacts,
       sum(p.promises) AS promises,
       sum(p.promises_kept) AS promises_kept,
       sum(p.complaints) AS complaints,
       sum(p.opt_outs) AS opt_outs
FROM per_loan p
JOIN loans l ON l.loan_id = p.loan_id
GROUP BY l.jurisdiction, l.strategy_arm
ORDER BY l.jurisdiction, l.strategy_arm
