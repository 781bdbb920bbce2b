-- swamp schema 4: several orchestrators on one database (a fleet). Each orchestrator process
-- registers itself and heartbeats here; a worker and every step lease name the orchestrator that
-- holds them, so a survivor can take over what a dead orchestrator held.
CREATE TABLE orchestrators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    ended_at BIGINT,
    ended_reason TEXT
);
CREATE INDEX orchestrators_by_state ON orchestrators (state, heartbeat_at);
ALTER TABLE workers ADD COLUMN orchestrator_id TEXT NOT NULL DEFAULT '';
CREATE INDEX workers_by_orchestrator ON workers (orchestrator_id, status);
ALTER TABLE step_leases ADD COLUMN orchestrator_id TEXT NOT NULL DEFAULT '';
CREATE INDEX step_leases_by_orchestrator ON step_leases (orchestrator_id, state);
