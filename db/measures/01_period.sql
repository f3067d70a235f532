-- part: base
-- view: period
-- The reporting month M: its first and last calendar day (from meta.month, YYYY-MM).
CREATE VIEW period AS
SELECT value AS month,
       date(value || '-01') AS first_day,
       date(value || '-01', '+1 month', '-1 day') AS last_day
FROM meta
WHERE key = 'month';
