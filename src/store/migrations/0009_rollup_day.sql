-- bmctl schema, version 9: the daily rollups of all clients by day (the
-- overall KPIs read a range of days across clients).

CREATE INDEX daily_rollups_day ON daily_rollups (day, client_id);
