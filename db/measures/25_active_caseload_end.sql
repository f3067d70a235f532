-- measure: active_caseload_end
-- kind: count
-- definition: journeys accepted on or before the last day of M and not ended on or before it
CREATE VIEW measure_active_caseload_end AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.decision = 'accepted'
  AND r.decision_month IN ('before', p.month)
  AND (r.end_month IS NULL OR r.end_month = 'after');
