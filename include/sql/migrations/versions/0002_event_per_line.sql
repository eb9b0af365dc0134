-- A person may have two events of the same code on one day (two corrections,
-- 訂正): each file line is its own event. Events derived from a snapshot (a
-- move-in the ledger learns of without a diff) are de-duplicated by the loader.
SET ROLE kenshin_owner;

ALTER TABLE core.person_event DROP CONSTRAINT person_event_addressee_id_event_code_event_date_key;
ALTER TABLE core.person_event ADD CONSTRAINT person_event_one_per_line UNIQUE (load_id, line_no);
CREATE INDEX person_event_person ON core.person_event (addressee_id, event_code, event_date);

RESET ROLE;
