-- The monthly return, definitions version 1 (shared/spec/monthly-return.md).
--
-- part: schema
-- The record-level tables every measure is computed from. They hold no names,
-- dates of birth, postcodes, NHS numbers, contact details or free text.
-- Dates are ISO text (YYYY-MM-DD). `person` is a pseudonym: HMAC-SHA256 of the
-- person's id under the install's secret, stable across months, not reversible
-- without the secret. `journey_key` and `onward_key` are pseudonyms too.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT
);

-- Every lot and locality the return reports on, in the order it reports them.
CREATE TABLE locality (
    lot TEXT NOT NULL,
    locality TEXT NOT NULL PRIMARY KEY,
    lot_order INTEGER NOT NULL,
    locality_order INTEGER NOT NULL
);

-- One row per journey (one referral of one person) that touches the month or
-- is open in it. lot/locality: the person's locality when referred.
CREATE TABLE referrals (
    journey_key TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    lot TEXT NOT NULL,
    locality TEXT NOT NULL,
    age_band TEXT NOT NULL,            -- age on the received date
    source TEXT NOT NULL,              -- referral source code
    imd_decile INTEGER,                -- 1 (most deprived) .. 10, NULL if unknown
    received_date TEXT NOT NULL,
    first_contact_date TEXT,           -- first successful contact
    decision TEXT,                     -- accepted | rejected
    decision_date TEXT,
    reject_reason TEXT,
    start_date TEXT,
    end_date TEXT,
    end_reason TEXT,
    swemwbs_start_x100 INTEGER,        -- SWEMWBS metric score at start, in hundredths
    swemwbs_end_x100 INTEGER           -- SWEMWBS metric score at the end, in hundredths
) WITHOUT ROWID;

-- One row per onward referral to a delivery partner that touches the month or
-- is open in it.
CREATE TABLE onward_referrals (
    onward_key TEXT PRIMARY KEY,
    journey_key TEXT NOT NULL,
    person TEXT NOT NULL,
    lot TEXT NOT NULL,
    locality TEXT NOT NULL,
    partner TEXT NOT NULL,
    programme TEXT NOT NULL,
    referral_date TEXT NOT NULL,
    status TEXT NOT NULL,              -- made | started | completed | withdrew | did_not_start | declined
    start_date TEXT,
    end_date TEXT
) WITHOUT ROWID;

-- Every day the record-level dates span: Monday to Friday, less England and
-- Wales bank holidays (substitute days included), with the service's corrections.
CREATE TABLE calendar (
    date TEXT PRIMARY KEY,
    is_working_day INTEGER NOT NULL
) WITHOUT ROWID;

-- The measures: their order, kind and rounding; `sql` is the view that defines each.
-- count: value = number of cases.
-- mean:  value = ROUND_HALF_AWAY_FROM_ZERO(multiplier * SUM(x) / cases) / 10^decimals,
--        computed in exact integer arithmetic; NULL when there are no cases.
CREATE TABLE measure_definition (
    position INTEGER PRIMARY KEY,
    measure TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    decimals INTEGER NOT NULL,
    multiplier INTEGER NOT NULL,
    scale INTEGER NOT NULL,
    definition TEXT NOT NULL,
    view TEXT NOT NULL,
    sql TEXT NOT NULL
);

