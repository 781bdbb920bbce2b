-- swamp schema 8: the reconnect grace on the worker's row. While a dropped worker may still resume
-- its session (and its steps) on the orchestrator holding it, that orchestrator writes here until
-- when; NULL otherwise. It counts only while that orchestrator is alive, so that
-- `swamp worker prune`, answered by any orchestrator of a fleet, spares what another may resume.
ALTER TABLE workers ADD COLUMN grace_until BIGINT;
