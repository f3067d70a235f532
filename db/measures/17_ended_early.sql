-- measure: ended_early
-- kind: count
-- definition: journeys that had started and ended with a reason other than completed, end date in M
CREATE VIEW measure_ended_early AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.start_month IS NOT NULL
  AND COALESCE(r.end_reason, '') <> 'completed'
  AND r.end_month = p.month;
