-- swamp schema 1: enrollment tokens, their machine bindings, workers, operator events.
-- Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE enrollment_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_enrollments INTEGER NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    revoked_at INTEGER,
    revoke_reason TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX enrollment_tokens_by_name ON enrollment_tokens (name, created_at);
CREATE TABLE token_bindings (
    token_id TEXT NOT NULL REFERENCES enrollment_tokens (id) ON DELETE CASCADE,
    machine_id TEXT NOT NULL,
    worker_name TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    PRIMARY KEY (token_id, machine_id)
);
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    machine_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    token_name TEXT NOT NULL,
    instance_id TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '{}',
    platform TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    capacity INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    draining INTEGER NOT NULL DEFAULT 0,
    orchestrator TEXT NOT NULL DEFAULT '',
    enrolled_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    disconnected_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (machine_id, token_name)
);
CREATE INDEX workers_by_status ON workers (status);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
