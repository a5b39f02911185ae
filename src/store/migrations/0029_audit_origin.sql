-- bmctl schema, version 29: each audit row says where it was written — the
-- OS user of the process (with the technician sudo ran it for) and the
-- host — beside the wall-clock time of schema 18. Both are in the row's hash.

ALTER TABLE audit_log ADD COLUMN os_user TEXT;
ALTER TABLE audit_log ADD COLUMN host TEXT;
