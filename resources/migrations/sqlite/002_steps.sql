-- swamp schema 2: runs, steps, step leases (one per dispatch attempt) and step output.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE TABLE steps (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    command TEXT NOT NULL,
    shell INTEGER NOT NULL DEFAULT 0,
    env TEXT NOT NULL DEFAULT '{}',
    target TEXT,
    labels TEXT NOT NULL DEFAULT '{}',
    platform TEXT,
    timeout_ms INTEGER,
    queue_timeout_ms INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    at_most_once INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    error TEXT,
    worker_id TEXT,
    worker_name TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    output_bytes INTEGER NOT NULL DEFAULT 0,
    output_chunks INTEGER NOT NULL DEFAULT 0,
    output_truncated INTEGER NOT NULL DEFAULT 0,
    queued_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX steps_by_state ON steps (state, queued_at);
CREATE INDEX steps_by_run ON steps (run_id, seq);
CREATE TABLE step_leases (
    id TEXT PRIMARY KEY,
    step_id TEXT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    run_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    worker_name TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    exit_code INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX step_leases_by_state ON step_leases (state);
CREATE INDEX step_leases_by_step ON step_leases (step_id);
CREATE TABLE step_output (
    step_id TEXT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    chunk INTEGER NOT NULL,
    lease_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    stream TEXT NOT NULL,
    data TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (step_id, chunk)
);
