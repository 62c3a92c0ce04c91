-- Up Migration
-- Maintenance runs (past and current) and backups deleted by retention. Like every read-model
-- table, rows come from events only.

ALTER TABLE backups ADD COLUMN deleted_at timestamptz;

CREATE TABLE maintenance_runs (
  instance_id    text NOT NULL REFERENCES instances (instance_id),
  run_id         text NOT NULL,
  trigger        text NOT NULL,
  status         text NOT NULL CHECK (status IN ('waiting', 'running', 'completed', 'failed', 'skipped')),
  opened_at      timestamptz NOT NULL,
  window_ends_at timestamptz NOT NULL,
  started_at     timestamptz,
  finished_at    timestamptz,
  outcome        text,
  PRIMARY KEY (instance_id, run_id)
);
CREATE INDEX maintenance_runs_by_time ON maintenance_runs (opened_at DESC);

-- Down Migration
DROP TABLE maintenance_runs;
ALTER TABLE backups DROP COLUMN deleted_at;
