-- measure: swemwbs_mean_change
-- kind: mean
-- decimals: 2
-- multiplier: 1
-- definition: of swemwbs_paired, mean of end metric - start metric; 2 decimals
-- x = end metric - start metric, in hundredths (exact).
CREATE VIEW measure_swemwbs_mean_change AS
SELECT s.journey_key, s.lot, s.locality,
       r.swemwbs_end_x100 - r.swemwbs_start_x100 AS x
FROM measure_swemwbs_paired s
JOIN referrals r ON r.journey_key = s.journey_key;
