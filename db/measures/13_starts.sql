-- measure: starts
-- kind: count
-- definition: journeys whose start date is in M
CREATE VIEW measure_starts AS
SELECT r.journey_key, r.lot, r.locality, 1 AS x
FROM referrals r, period p
WHERE r.start_month = p.month;
