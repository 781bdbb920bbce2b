-- swamp schema 12: a name chosen with 'worker connect --name' belongs to one worker. Two
-- enrollments asking for one new name through two orchestrators of a fleet could both pass the
-- check before either wrote its row; with this index the second write fails and is refused as
-- worker_name_taken. chosen_name is the name when it was chosen, NULL for a default name
-- (<token>-<machine suffix>, which older databases and re-created tokens may share) and for the
-- rows of older versions until their worker enrolls again. A removed or pruned worker has no row,
-- so its name is free.
ALTER TABLE workers ADD COLUMN chosen_name TEXT;
CREATE UNIQUE INDEX workers_by_chosen_name ON workers (chosen_name) WHERE chosen_name IS NOT NULL;
