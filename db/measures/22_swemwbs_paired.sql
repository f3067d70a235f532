-- measure: swemwbs_paired
-- kind: count
-- definition: completions with both a start and an end SWEMWBS
CREATE VIEW measure_swemwbs_paired AS
SELECT c.journey_key, c.lot, c.locality, 1 AS x
FROM measure_completions c
JOIN referrals r ON r.journey_key = c.journey_key
WHERE r.swemwbs_start_x100 IS NOT NULL
  AND r.swemwbs_end_x100 IS NOT NULL;
