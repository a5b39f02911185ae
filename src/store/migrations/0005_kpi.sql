-- bmctl schema, version 5: indexes for the KPI reads (tickets opened in a
-- period; recovery attempts across clients).

CREATE INDEX tickets_client_opened ON tickets (client_id, kind, opened_at);
CREATE INDEX tickets_kind_opened ON tickets (kind, opened_at);
CREATE INDEX recovery_attempts_ended ON recovery_attempts (ended_at);
