-- bmctl schema, version 24: a run still going holds only its own window.
-- `check` passes that window by (it is neither missed nor counted yet) and
-- closes the later ones; the window waits on the run's start record until
-- the run ends (its outcome) or outlives its max runtime (hung: failed).

ALTER TABLE running_runs ADD COLUMN pending_window INTEGER;
