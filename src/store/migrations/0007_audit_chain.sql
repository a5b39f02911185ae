-- bmctl schema, version 7: a tamper-evident audit log. Each row carries a
-- SHA-256 over its content and the previous row's hash (filled in for older
-- rows right after this migration).

ALTER TABLE audit_log ADD COLUMN hash TEXT;
