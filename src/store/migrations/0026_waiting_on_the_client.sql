-- bmctl schema, version 26: a ticket waiting on the client (`correct
-- wait`): since when and why; the time it waited, which does not count
-- against its SLA, is added to its due time when it resumes.

ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
ALTER TABLE tickets ADD COLUMN waiting_reason TEXT;
ALTER TABLE tickets ADD COLUMN waited_s INTEGER;
