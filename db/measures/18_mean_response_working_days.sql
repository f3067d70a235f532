-- measure: mean_response_working_days
-- kind: mean
-- decimals: 1
-- multiplier: 10
-- definition: over journeys whose first successful contact date is in M: mean working days from received to first successful contact; 1 decimal
-- x = working days from A (received) to B (first successful contact): the working days d with
-- A < d <= B (negative when B is before A), as `response_working_days`.
CREATE VIEW measure_mean_response_working_days AS
SELECT r.journey_key, r.lot, r.locality, r.response_working_days AS x
FROM referrals r, period p
WHERE r.first_contact_month = p.month;
