-- swamp schema 6: secret environment (`swamp run --secret-env`). Only the variables' names are
-- stored, and the orchestrator holding their values in memory (they are never written here); a
-- step whose holder is gone cannot run and fails.
ALTER TABLE steps ADD COLUMN secret_env TEXT NOT NULL DEFAULT '[]';
ALTER TABLE steps ADD COLUMN secret_holder TEXT;
