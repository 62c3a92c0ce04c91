-- Up Migration
-- What the HTTP API owns beside the read model: bearer tokens (only their sha256 is stored, the
-- token itself is shown once when it is created) and the first answer to each Idempotency-Key.

CREATE TABLE api_tokens (
  token_hash text PRIMARY KEY,
  tenant     text NOT NULL,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant);

CREATE TABLE idempotency_keys (
  tenant       text NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status_code  integer NOT NULL,
  response     jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, key)
);

-- Down Migration
DROP TABLE idempotency_keys;
DROP TABLE api_tokens;
