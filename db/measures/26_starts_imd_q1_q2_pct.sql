-- measure: starts_imd_q1_q2_pct
-- kind: mean
-- decimals: 1
-- multiplier: 1000
-- definition: of starts with a known IMD decile, the percentage in deciles 1-4 (quintiles 1-2); 1 decimal
-- x = 1 when the IMD decile at referral is 1 to 4 (imd_group '1-4'), else 0 (percentage = 100 * mean, at 1 decimal).
CREATE VIEW measure_starts_imd_q1_q2_pct AS
SELECT s.journey_key, s.lot, s.locality,
       CASE WHEN r.imd_group = '1-4' THEN 1 ELSE 0 END AS x
FROM measure_starts s
JOIN referrals r ON r.journey_key = s.journey_key
WHERE r.imd_group <> 'unknown';
