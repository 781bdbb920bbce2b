-- swamp schema 11: the labels an operator set or removed on a worker after its enrollment
-- ('swamp worker label'), as the JSON object {"key": "value", "removed-key": null}. The labels
-- column keeps what the worker itself (and its token) declared at its last enrollment; the
-- scheduler matches the two combined, the operator's winning for the keys it names. Written only
-- by worker.label, never by the session's own writes, so a re-enrollment keeps it.
ALTER TABLE workers ADD COLUMN operator_labels TEXT NOT NULL DEFAULT '{}';
