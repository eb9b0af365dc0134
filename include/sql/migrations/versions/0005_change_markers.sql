-- The incremental marts (dbt_project/models/intermediate/int_screening_enriched)
-- rebuild only the people whose screenings, detailed exams or ledger entry
-- changed since their last build; these indexes keep finding them cheap at city
-- scale (4M screenings) instead of a scan of every table each month.
SET ROLE kenshin_owner;

CREATE INDEX screening_updated_at ON core.screening (updated_at);
CREATE INDEX detailed_exam_updated_at ON core.detailed_exam (updated_at);
CREATE INDEX person_updated_at ON core.person (updated_at);

RESET ROLE;
