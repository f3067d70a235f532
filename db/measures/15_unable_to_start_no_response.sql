-- measure: unable_to_start_no_response
-- kind: count
-- definition: the part of unable_to_start whose reason is no response
CREATE VIEW measure_unable_to_start_no_response AS
SELECT u.journey_key, u.lot, u.locality, 1 AS x
FROM measure_unable_to_start u
JOIN referrals r ON r.journey_key = u.journey_key
WHERE r.end_reason = 'no_response';
