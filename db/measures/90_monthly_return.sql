-- part: rollup
-- view: monthly_return_derived
-- Every measure for the whole service (lot 'ALL', locality 'ALL'), each lot
-- (locality 'ALL') and each locality, from `measure_cases` (one row per case of
-- each measure: journey_key, lot, locality, x).
-- count: value = cases. mean: value = ROUND_HALF_AWAY_FROM_ZERO(multiplier * SUM(x) / cases)
-- / scale, in exact integer arithmetic ((2|a| + n) div 2n rounds |a|/n half up);
-- NULL when there are no cases. No suppression or rounding here: `monthly_return`
-- holds the published figures (see meta: suppress_under, round_to).
CREATE VIEW monthly_return_derived AS
WITH frame AS (
    SELECT 0 AS lot_order, 'ALL' AS lot, 0 AS locality_order, 'ALL' AS locality
    UNION ALL
    SELECT lot_order, lot, 0, 'ALL' FROM locality GROUP BY lot_order, lot
    UNION ALL
    SELECT lot_order, lot, locality_order, locality FROM locality
),
by_locality AS (
    SELECT measure, lot, locality, COUNT(*) AS cases, SUM(x) AS total
    FROM measure_cases GROUP BY measure, lot, locality
),
totals AS (
    SELECT measure, 'ALL' AS lot, 'ALL' AS locality, SUM(cases) AS cases, SUM(total) AS total
    FROM by_locality GROUP BY measure
    UNION ALL
    SELECT measure, lot, 'ALL', SUM(cases), SUM(total) FROM by_locality GROUP BY measure, lot
    UNION ALL
    SELECT measure, lot, locality, cases, total FROM by_locality
)
SELECT p.month AS month,
       f.lot AS lot,
       f.locality AS locality,
       d.measure AS measure,
       CASE
           WHEN d.kind = 'count' THEN COALESCE(t.cases, 0)
           WHEN COALESCE(t.cases, 0) = 0 THEN NULL
           ELSE (CASE WHEN t.total < 0 THEN -1 ELSE 1 END)
                * ((2 * ABS(t.total) * d.multiplier + t.cases) / (2 * t.cases))
                * 1.0 / d.scale
       END AS value,
       COALESCE(t.cases, 0) AS cases,
       COALESCE(t.total, 0) AS total,
       f.lot_order AS lot_order,
       f.locality_order AS locality_order,
       d.position AS position
FROM period p
CROSS JOIN frame f
CROSS JOIN measure_definition d
LEFT JOIN totals t ON t.measure = d.measure AND t.lot = f.lot AND t.locality = f.locality
ORDER BY f.lot_order, f.locality_order, d.position;
