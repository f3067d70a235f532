-- measure: mean_wait_working_days
-- kind: mean
-- decimals: 1
-- multiplier: 10
-- definition: over starts: mean working days from the accepted decision date to the start date; 1 decimal
-- x = working days from A (decision) to B (start): the working days d with A < d <= B.
CREATE VIEW measure_mean_wait_working_days AS
SELECT s.journey_key, s.lot, s.locality,
       CASE WHEN r.start_date >= r.decision_date
            THEN (SELECT COUNT(*) FROM calendar c WHERE c.is_working_day = 1
                  AND c.date > r.decision_date AND c.date <= r.start_date)
            ELSE -(SELECT COUNT(*) FROM calendar c WHERE c.is_working_day = 1
                   AND c.date > r.start_date AND c.date <= r.decision_date)
       END AS x
FROM measure_starts s
JOIN referrals r ON r.journey_key = s.journey_key
WHERE r.decision_date IS NOT NULL;
