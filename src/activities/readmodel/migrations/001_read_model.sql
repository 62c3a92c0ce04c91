-- Up Migration
-- The read model: what the API answers from. Rebuildable from Temporal histories; every value
-- here comes from events (no now()), so a rebuild writes the same rows as live projection.

CREATE TABLE instances (
  instance_id        text PRIMARY KEY,
  tenant             text NOT NULL,
  name               text NOT NULL,
  workflow_id        text NOT NULL,
  phase              text NOT NULL,
  version            text,
  size               text NOT NULL,
  pending_restart    boolean NOT NULL,
  maintenance_window jsonb NOT NULL,
  running_operation  jsonb,
  last_operation     jsonb,
  last_backup_at     timestamptz,
  state              jsonb NOT NULL,
  last_seq           integer NOT NULL,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
-- One live instance per name and tenant; a deleted one keeps its history beside a new one.
CREATE UNIQUE INDEX instances_live_name ON instances (tenant, name) WHERE phase <> 'deleted';
CREATE INDEX instances_by_tenant ON instances (tenant, name, instance_id);

CREATE TABLE instance_events (
  instance_id text NOT NULL REFERENCES instances (instance_id),
  seq         integer NOT NULL,
  type        text NOT NULL,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  request_id  text NOT NULL,
  reason      text,
  data        jsonb NOT NULL,
  PRIMARY KEY (instance_id, seq)
);
CREATE INDEX instance_events_by_time ON instance_events (instance_id, at);

CREATE TABLE operations (
  instance_id  text NOT NULL REFERENCES instances (instance_id),
  operation_id text NOT NULL,
  type         text NOT NULL,
  status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  actor        text NOT NULL,
  step         text,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  error        jsonb,
  PRIMARY KEY (instance_id, operation_id)
);

CREATE TABLE backups (
  instance_id      text NOT NULL REFERENCES instances (instance_id),
  name             text NOT NULL,
  purpose          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  request_id       text NOT NULL,
  requested_at     timestamptz NOT NULL,
  completed_at     timestamptz,
  size_bytes       bigint,
  compressed_bytes bigint,
  postgres_version text,
  error            text,
  PRIMARY KEY (instance_id, name)
);

-- Down Migration
DROP TABLE backups;
DROP TABLE operations;
DROP TABLE instance_events;
DROP TABLE instances;
