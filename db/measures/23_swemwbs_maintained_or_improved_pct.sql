-- measure: swemwbs_maintained_or_improved_pct
-- kind: mean
-- decimals: 1
-- multiplier: 1000
-- definition: of swemwbs_paired, the percentage whose end metric score >= start metric score; 1 decimal
-- x = 1 when maintained or improved, else 0 (percentage = 100 * mean, at 1 decimal).
CREATE VIEW measure_swemwbs_maintained_or_improved_pct AS
SELECT s.journey_key, s.lot, s.locality,
       CASE WHEN r.swemwbs_end_x100 >= r.swemwbs_start_x100 THEN 1 ELSE 0 END AS x
FROM measure_swemwbs_paired s
JOIN referrals r ON r.journey_key = s.journey_key;
