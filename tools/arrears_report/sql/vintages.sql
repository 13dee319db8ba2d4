-- Vintage curves: per disbursement month, on each date a transition happened, the loans of the
-- vintage disbursed by then and those that were ever 30+ days past due by then (entered M2 or worse:
-- the industry's "ever 30+" vintage measure).
WITH days AS (
  SELECT DISTINCT changed_on AS day FROM transitions
),
first_30 AS (
  SELECT loan_id, min(CASE WHEN dpd > 30 THEN changed_on END) AS reached_on
  FROM transitions
  GROUP BY loan_id
),
book AS (
  SELECT l.loan_id, l.jurisdiction, substr(l.disbursed_on, 1, 7) AS vintage, l.disbursed_on, f.reached_on
  FROM loans l
  LEFT JOIN first_30 f ON f.loan_id = l.loan_id
)
SELECT b.vintage, d.day, count(*) AS loans,
       sum(CASE WHEN b.reached_on IS NOT NULL AND b.reached_on <= d.day THEN 1 ELSE 0 END) AS ever_30_dpd
FROM book b
JOIN days d ON b.disbursed_on <= d.day
GROUP BY b.vintage, d.day
ORDER BY b.vintage, d.day
