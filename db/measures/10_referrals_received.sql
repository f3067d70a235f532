-- measure: referrals_received
-- kind: count
-- definition: journeys whose received date is in M
CREATE VIEW measure_referrals_received AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.received_month = p.month;
