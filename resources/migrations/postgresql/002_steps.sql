-- swamp schema 2: runs, steps, step leases (one per dispatch attempt) and step output.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE steps (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    command TEXT NOT NULL,
    shell BIGINT NOT NULL DEFAULT 0,
    env TEXT NOT NULL DEFAULT '{}',
    target TEXT,
    labels TEXT NOT NULL DEFAULT '{}',
    platform TEXT,
    timeout_ms BIGINT,
    queue_timeout_ms BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    at_most_once BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempt BIGINT NOT NULL DEFAULT 0,
    exit_code BIGINT,
    error TEXT,
    worker_id TEXT,
    worker_name TEXT,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    output_bytes BIGINT NOT NULL DEFAULT 0,
    output_chunks BIGINT NOT NULL DEFAULT 0,
    output_truncated BIGINT NOT NULL DEFAULT 0,
    queued_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX steps_by_state ON steps (state, queued_at);
CREATE INDEX steps_by_run ON steps (run_id, seq);
CREATE TABLE step_leases (
    id TEXT PRIMARY KEY,
    step_id TEXT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    run_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    worker_name TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    exit_code BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX step_leases_by_state ON step_leases (state);
CREATE INDEX step_leases_by_step ON step_leases (step_id);
CREATE TABLE step_output (
    step_id TEXT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    chunk BIGINT NOT NULL,
    lease_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    stream TEXT NOT NULL,
    data TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (step_id, chunk)
);
