-- bmctl schema, version 16: the notification contract (DESIGN,
-- "Notifications"). A row holds its payload as it was at the change (a
-- hook read the ticket at delivery and saw a later state), and is claimed
-- with a lease before it runs, so two deliverers never run it twice and one
-- ticket's rows run in order. Rows queued before keep a NULL payload, built
-- at delivery as before.

ALTER TABLE hook_outbox ADD COLUMN payload TEXT;
ALTER TABLE hook_outbox ADD COLUMN claimed_at INTEGER;
ALTER TABLE hook_outbox ADD COLUMN claimed_by TEXT;
CREATE INDEX hook_outbox_ticket ON hook_outbox (ticket_id, id);
