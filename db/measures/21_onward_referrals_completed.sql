-- measure: onward_referrals_completed
-- kind: count
-- definition: onward referrals the partner completed, completion date in M
CREATE VIEW measure_onward_referrals_completed AS
SELECT o.journey_key, o.lot, o.locality, 1 AS x
FROM onward_referrals o, period p
WHERE o.status = 'completed'
  AND o.end_month = p.month;
