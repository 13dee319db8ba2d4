-- Contacts by channel and outcome (status of the contact record), per jurisdiction and the strategy
-- arm of the loan.
SELECT c.jurisdiction, l.strategy_arm, c.channel, c.status, count(*) AS contacts
FROM contacts c
JOIN loans l ON l.loan_id = c.loan_id
GROUP BY c.jurisdiction, l.strategy_arm, c.channel, c.status
ORDER BY c.jurisdiction, l.strategy_arm, c.channel, c.status
