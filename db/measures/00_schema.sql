-- The monthly return, definitions version 2 (docs/monthly-return.md).
--
-- part: schema
-- The record-level tables every measure is computed from. They carry only what
-- the measures need: no names, dates of birth, postcodes, NHS numbers, contact
-- details or free text, no dates (an event's month only as M itself, YYYY-MM,
-- or 'before' M — a journey is given as it stood at the end of M; an onward
-- referral's later months as 'after' — and the working-day intervals the means
-- use), an IMD group rather than the decile, no age band. A journey's lot,
-- locality and IMD group are those of its referral.
-- `journey_key`, `onward_key` and `person` are pseudonyms: HMAC-SHA256 under a
-- key derived from the install's secret and the month, so they differ from one
-- month's file to another's (unless meta.linkage says the file was made linkable).

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT
);

-- Every lot and locality the return reports on, in the order it reports them
-- (a locality appears under each lot its journeys were referred in).
CREATE TABLE locality (
    lot TEXT NOT NULL,
    locality TEXT NOT NULL,
    lot_order INTEGER NOT NULL,
    locality_order INTEGER NOT NULL,
    PRIMARY KEY (lot, locality)
) WITHOUT ROWID;

-- One row per journey (one referral of one person) that touches the month or
-- is open in it, as it stood at the end of M: an event after M is NULL here.
CREATE TABLE referrals (
    journey_key TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    lot TEXT NOT NULL,                 -- the lot and locality of the referral
    locality TEXT NOT NULL,
    imd_group TEXT NOT NULL,           -- IMD decile at referral: '1-4', '5-10' or 'unknown'
    received_month TEXT NOT NULL,      -- M (YYYY-MM) or 'before'; as for every *_month below
    first_contact_month TEXT,          -- first successful contact
    decision TEXT,                     -- accepted | rejected
    decision_month TEXT,
    start_month TEXT,
    end_month TEXT,
    end_reason TEXT,                   -- completed | no_response | other
    response_working_days INTEGER,     -- received -> first successful contact (working days d, A < d <= B)
    wait_working_days INTEGER,         -- accepted decision -> start
    swemwbs_start_x100 INTEGER,        -- SWEMWBS metric score at start, in hundredths
    swemwbs_end_x100 INTEGER,          -- SWEMWBS metric score at the end, in hundredths
    referrer_to_tell INTEGER NOT NULL, -- 1 when the referrer was to be told of the end: the app asked
                                       -- for it (someone referred the person) or it was recorded
    referrer_told_month TEXT           -- when the referrer was recorded as told of the closure or rejection
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
    programme TEXT NOT NULL,           -- 'not specified' when the referral named none
    referral_month TEXT NOT NULL,
    status TEXT NOT NULL,              -- made | started | completed | withdrew | did_not_start | declined
    start_month TEXT,
    end_month TEXT
) WITHOUT ROWID;

-- The days of the month M: Monday to Friday, less England and Wales bank
-- holidays (substitute days included), with the service's corrections.
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
