-- measure: mean_response_working_days
-- kind: mean
-- decimals: 1
-- multiplier: 10
-- definition: over journeys whose first successful contact date is in M: mean working days from received to first successful contact; 1 decimal
-- x = working days from A (received) to B (first contact): the working days d with A < d <= B.
CREATE VIEW measure_mean_response_working_days AS
SELECT r.journey_key, r.lot, r.locality,
       CASE WHEN r.first_contact_date >= r.received_date
            THEN (SELECT COUNT(*) FROM calendar c WHERE c.is_working_day = 1
                  AND c.date > r.received_date AND c.date <= r.first_contact_date)
            ELSE -(SELECT COUNT(*) FROM calendar c WHERE c.is_working_day = 1
                   AND c.date > r.first_contact_date AND c.date <= r.received_date)
       END AS x
FROM referrals r, period p
WHERE r.first_contact_date BETWEEN p.first_day AND p.last_day;
