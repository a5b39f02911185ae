-- bmctl schema, version 8: the audit log is append-only for bmctl itself.
-- (Anyone with the file can drop these triggers; `bmctl audit verify` still
-- finds what they then changed.)

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
