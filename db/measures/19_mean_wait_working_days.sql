-- measure: mean_wait_working_days
-- kind: mean
-- decimals: 1
-- multiplier: 10
-- definition: over starts: mean working days from the accepted decision date to the start date; 1 decimal
-- x = working days from A (the accepted decision) to B (start): the working days d with A < d <= B,
-- as `wait_working_days`.
CREATE VIEW measure_mean_wait_working_days AS
SELECT s.journey_key, s.lot, s.locality, r.wait_working_days AS x
FROM measure_starts s
JOIN referrals r ON r.journey_key = s.journey_key
WHERE r.wait_working_days IS NOT NULL;
