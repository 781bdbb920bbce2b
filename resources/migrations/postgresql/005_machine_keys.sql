-- swamp schema 5: machine credentials. A machine proves itself at enrollment with the key in its
-- cache dir (`machine-key`), not only with its token and machine id; the binding keeps SHA-256
-- of that key. Empty: bound before schema 5, adopted at the machine's next enrollment.
ALTER TABLE token_bindings ADD COLUMN key_hash TEXT NOT NULL DEFAULT '';
