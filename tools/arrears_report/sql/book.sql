-- The book: loans per jurisdiction, strategy arm and final state.
SELECT jurisdiction, strategy_arm, CASE WHEN status = 'OPEN' THEN bucket ELSE status END AS state,
       count(*) AS loans
FROM loans
GROUP BY jurisdiction, strategy_arm, CASE WHEN status = 'OPEN' THEN bucket ELSE status END
ORDER BY jurisdiction, strategy_arm, state
