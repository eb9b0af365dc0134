-- 情報照会: one row per request to a previous municipality for a new arrival's
-- screening history (LAYOUTS.md §6). A move-in is asked about once; an expired
-- request is asked again once, as a new request of the same move-in.
SET ROLE kenshin_owner;

CREATE TABLE ops.linkage_request (
    request_id                  uuid PRIMARY KEY,
    move_in_event_id            bigint NOT NULL REFERENCES core.person_event (event_id),
    addressee_id                char(10) NOT NULL REFERENCES core.person (addressee_id),
    previous_municipality_code  char(6) NOT NULL,
    fiscal_year_from            integer NOT NULL,
    fiscal_year_to              integer NOT NULL CHECK (fiscal_year_to >= fiscal_year_from),
    -- 0: the first request of the move-in; 1: the one after it expired
    generation                  smallint NOT NULL DEFAULT 0 CHECK (generation IN (0, 1)),
    state                       text NOT NULL DEFAULT 'queued' CHECK (state IN (
                                    'queued', 'sent', 'answered', 'no_record', 'manual_pending',
                                    'retry', 'failed', 'expired')),
    attempts                    smallint NOT NULL DEFAULT 0,
    file_name                   text,
    queued_on                   date NOT NULL,
    sent_on                     date,
    next_attempt_on             date,
    closed_on                   date,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (move_in_event_id, generation)
);
CREATE INDEX linkage_request_state ON ops.linkage_request (state);
COMMENT ON TABLE ops.linkage_request IS
'情報照会 requests for new arrivals: queued, sent (in file_name), '
'then answered / no_record / manual_pending / retry / failed / expired.';

GRANT SELECT, INSERT, UPDATE ON ops.linkage_request TO kenshin_loader;
GRANT SELECT ON ops.linkage_request TO kenshin_auditor, kenshin_staff;

RESET ROLE;
