-- A screening a previous municipality reported for a person who moved in
-- (情報照会の結果, LAYOUTS.md §6): it counts for the person's history, the
-- first-time flag and the screening interval (eligibility), never as one of
-- this city's screenings in its statistics. Filled by the linkage responses.
SET ROLE kenshin_owner;

CREATE TABLE core.external_screening (
    external_screening_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    addressee_id              char(10) NOT NULL REFERENCES core.person (addressee_id),
    source_municipality_code  char(6) NOT NULL CHECK (source_municipality_code ~ '^[0-9]{6}$'),
    exam_type                 char(2) NOT NULL,
    exam_date                 date NOT NULL,
    result_code               char(1) CHECK (result_code IN ('1', '2', '3', '9')),
    followup_outcome          char(1) CHECK (followup_outcome IN ('1', '2', '3', '4')),
    load_id                   bigint,
    line_no                   integer,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (addressee_id, exam_type, exam_date, source_municipality_code)
);
CREATE INDEX external_screening_updated_at ON core.external_screening (updated_at);
COMMENT ON TABLE core.external_screening IS
'Screenings reported by a previous municipality (他市町村の検診記録): history and intervals, not this city''s statistics.';

GRANT SELECT, INSERT, UPDATE ON core.external_screening TO kenshin_loader;
GRANT SELECT ON core.external_screening TO kenshin_staff;

RESET ROLE;
