-- swamp schema 3: the audit trail of admin actions on enrollment tokens (create, revoke) and
-- of pruned workers, and the indexes the retention reaper walks.
-- Audit events are never removed by --retention (see docs/operations.md, "Audit").
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    token_id TEXT,
    token_name TEXT,
    worker_name TEXT,
    admin_key TEXT NOT NULL DEFAULT '',
    client TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_token ON audit_events (token_id);
CREATE INDEX steps_by_finished ON steps (finished_at);
CREATE INDEX events_by_at ON events (at);
