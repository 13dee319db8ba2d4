-- Recoveries after charge-off per jurisdiction, strategy arm and currency (minor units): the money
-- applied to charged-off loans, and the recovery rate's denominator, the exposure at charge-off
-- (recovered + still owed: no interest or penalty accrues after charge-off).
SELECT jurisdiction, strategy_arm, currency,
       count(*) AS charged_off_loans,
       sum(CASE WHEN recovered_minor > 0 THEN 1 ELSE 0 END) AS loans_with_recovery,
       sum(recovered_minor) AS recovered_minor,
       sum(recovered_minor + balance_minor) AS exposure_minor
FROM loans
WHERE charged_off_on IS NOT NULL
GROUP BY jurisdiction, strategy_arm, currency
ORDER BY jurisdiction, strategy_arm, currency
