-- measure: completions
-- kind: count
-- definition: journeys ended with reason completed, end date in M
CREATE VIEW measure_completions AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.end_reason = 'completed'
  AND r.end_month = p.month;
