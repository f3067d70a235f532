-- measure: onward_referrals_made
-- kind: count
-- definition: onward referrals with a referral date in M
CREATE VIEW measure_onward_referrals_made AS
SELECT o.journey_key, o.lot, o.locality, 1 AS x
FROM onward_referrals o, period p
WHERE o.referral_month = p.month;
