-- swamp schema 9: a worker an operator paused ('swamp worker pause') takes no new steps but stays
-- connected; the flag is the record's, so it holds across the worker's reconnects and restarts and
-- on every orchestrator of a fleet. Written only by worker.pause/worker.resume, never by the
-- session's own writes. And the events about one subject, newest first ('swamp worker show').
ALTER TABLE workers ADD COLUMN paused BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_by_subject ON events (subject, id);
