-- part: rollup
-- view: onward_by_partner_derived
-- Per delivery partner and programme, onward referrals in M: made (referral
-- month M), started (partner start in M), completed and withdrew (the
-- partner's completion / withdrawal in M).
CREATE VIEW onward_by_partner_derived AS
SELECT p.month AS month,
       o.partner AS partner,
       o.programme AS programme,
       SUM(CASE WHEN o.referral_month = p.month THEN 1 ELSE 0 END) AS made,
       SUM(CASE WHEN o.start_month = p.month THEN 1 ELSE 0 END) AS started,
       SUM(CASE WHEN o.status = 'completed' AND o.end_month = p.month
                THEN 1 ELSE 0 END) AS completed,
       SUM(CASE WHEN o.status = 'withdrew' AND o.end_month = p.month
                THEN 1 ELSE 0 END) AS withdrew
FROM onward_referrals o, period p
GROUP BY o.partner, o.programme
ORDER BY o.partner, o.programme;
