-- Contacts the rules held back, from the archive: per jurisdiction, the layer whose rule decided (as
-- the receipt names it: `<id>@<version>`; '' for Arrears' own checks, 'borrower' for their preferred
-- hours), the rule that failed (`held_by`) and the outcome (DEFERRED, SUPPRESSED, CANCELLED).
-- records: one per decision (a contact deferred twice and then sent has two DEFERRED records);
-- loans: the debts it held at least once.
SELECT c.jurisdiction, coalesce(c.decided_by, '') AS decided_by, c.held_by AS rule, c.status,
       count(*) AS records, count(DISTINCT c.loan_id) AS loans
FROM contacts c
WHERE c.held_by IS NOT NULL AND c.status <> 'SENT'
GROUP BY c.jurisdiction, coalesce(c.decided_by, ''), c.held_by, c.status
ORDER BY c.jurisdiction, count(*) DESC, c.held_by, c.status
