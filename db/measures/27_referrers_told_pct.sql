-- measure: referrers_told_pct
-- kind: mean
-- decimals: 1
-- multiplier: 1000
-- definition: of journeys closed in M (ended for any reason, end date in M, or rejected with a decision date in M) whose referrer was to be told, the percentage whose referrer was recorded as told by the last day of M; 1 decimal
-- x = 1 when the referrer was told in or before M, else 0 (percentage = 100 * mean, at 1 decimal).
-- To be told: the app set the follow-up "tell the referrer" (someone referred the person and the
-- protocol tells referrers), or a telling was recorded. A self-referral has no one to tell; history
-- written by the tracker import or the demo does not say, and is not counted.
CREATE VIEW measure_referrers_told_pct AS
SELECT r.journey_key, r.lot, r.locality,
       CASE WHEN r.referrer_told_month IS NOT NULL THEN 1 ELSE 0 END AS x
FROM referrals r, period p
WHERE r.referrer_to_tell = 1
  AND (r.end_month = p.month OR (r.decision = 'rejected' AND r.decision_month = p.month));
