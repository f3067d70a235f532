-- measure: referrals_rejected
-- kind: count
-- definition: journeys rejected with a decision date in M
CREATE VIEW measure_referrals_rejected AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.decision = 'rejected'
  AND r.decision_month = p.month;
