-- Contacts by channel and status of the contact record, per jurisdiction and the strategy arm of the
-- loan. `made`: of them, the contacts made with the borrower: a text, e-mail or letter sent (SENT), a
-- call attempt (the dialer's or a desk agent's, answered or not) and a field visit made (a record with
-- the attempt's or visit's `result`); not the call or visit task queued for the dialer or the
-- collectors (SENT with no result: an attempt or visit follows, or not), nor a bureau report or legal
-- referral handed off (they do not reach the borrower).
SELECT c.jurisdiction, l.strategy_arm, c.channel, c.status, count(*) AS contacts,
       sum(CASE WHEN c.status = 'SENT' AND (c.channel IN ('SMS', 'EMAIL', 'LETTER') OR coalesce(c.result, '') <> '')
                THEN 1 ELSE 0 END) AS made
FROM contacts c
JOIN loans l ON l.loan_id = c.loan_id
GROUP BY c.jurisdiction, l.strategy_arm, c.channel, c.status
ORDER BY c.jurisdiction, l.strategy_arm, c.channel, c.status
