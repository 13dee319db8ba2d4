-- Repayment plans per jurisdiction (docs/plans.md), from the archive alone: plans asked for (every
-- plan request, the borrower's own or an agent's; `referred`: queued for a supervisor), plans agreed
-- by who agreed them (auto: inside the auto-approval limits, agent, supervisor), plan instalments kept
-- and missed, plans broken (a missed instalment: counted like a broken promise) and completed.
WITH asked AS (
    SELECT jurisdiction,
           count(*) AS asked,
           sum(CASE WHEN decision = 'queued' THEN 1 ELSE 0 END) AS referred
    FROM plan_requests
    GROUP BY jurisdiction
), happened AS (
    SELECT jurisdiction,
           sum(CASE WHEN event = 'agreed' AND approval = 'auto' THEN 1 ELSE 0 END) AS agreed_auto,
           sum(CASE WHEN event = 'agreed' AND approval = 'agent' THEN 1 ELSE 0 END) AS agreed_agent,
           sum(CASE WHEN event = 'agreed' AND approval = 'supervisor' THEN 1 ELSE 0 END) AS agreed_supervisor,
           sum(CASE WHEN event = 'instalment_kept' THEN 1 ELSE 0 END) AS instalments_kept,
           sum(CASE WHEN event = 'instalment_missed' THEN 1 ELSE 0 END) AS instalments_missed,
           sum(CASE WHEN event = 'broken' THEN 1 ELSE 0 END) AS broken,
           sum(CASE WHEN event = 'completed' THEN 1 ELSE 0 END) AS completed
    FROM plan_events
    GROUP BY jurisdiction
)
SELECT coalesce(a.jurisdiction, h.jurisdiction) AS jurisdiction,
       coalesce(a.asked, 0) AS asked,
       coalesce(a.referred, 0) AS referred,
       coalesce(h.agreed_auto, 0) AS agreed_auto,
       coalesce(h.agreed_agent, 0) AS agreed_agent,
       coalesce(h.agreed_supervisor, 0) AS agreed_supervisor,
       coalesce(h.instalments_kept, 0) AS instalments_kept,
       coalesce(h.instalments_missed, 0) AS instalments_missed,
       coalesce(h.broken, 0) AS broken,
       coalesce(h.completed, 0) AS completed
FROM asked a
FULL OUTER JOIN happened h ON a.jurisdiction = h.jurisdiction
ORDER BY jurisdiction
