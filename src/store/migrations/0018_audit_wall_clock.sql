-- bmctl schema, version 18: each audit row records the wall-clock time it
-- was written (beside `at`, the command's `now`), covered by its hash. A
-- row appended after an `audit checkpoint` with a time before the
-- checkpoint's is flagged by `audit verify --since`. Older rows have none.

ALTER TABLE audit_log ADD COLUMN wall_at INTEGER;
