-- measure: referrals_accepted
-- kind: count
-- definition: journeys accepted with a decision date in M
CREATE VIEW measure_referrals_accepted AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.decision = 'accepted'
  AND r.decision_month = p.month;
