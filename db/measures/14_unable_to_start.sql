-- measure: unable_to_start
-- kind: count
-- definition: journeys not rejected, never started, ended with an end date in M (any reason)
CREATE VIEW measure_unable_to_start AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE COALESCE(r.decision, '') <> 'rejected'
  AND r.start_month IS NULL
  AND r.end_month = p.month;
