-- swamp schema 10: each batch of a fleet member sets its orchestrators row's last_batch in the
-- transaction it commits, so that when the connection is lost during COMMIT, the orchestrator can
-- tell once the database is back whether that batch was applied (and must not be written again)
-- or not (and is replayed). Written only by the orchestrator the row is.
ALTER TABLE orchestrators ADD COLUMN last_batch BIGINT NOT NULL DEFAULT 0;
