-- Up Migration
-- Webhook subscriptions per tenant, and each delivery's outcome. The signing secret is read only
-- by the delivery activity: it never travels through a workflow history.

CREATE TABLE notification_subscriptions (
  id         text PRIMARY KEY,
  tenant     text NOT NULL,
  url        text NOT NULL,
  topics     text[] NOT NULL,
  secret     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_subscriptions_by_tenant ON notification_subscriptions (tenant);

CREATE TABLE notification_deliveries (
  subscription_id text NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
  instance_id     text NOT NULL,
  seq             integer NOT NULL,
  event_type      text NOT NULL,
  status          text NOT NULL CHECK (status IN ('delivered', 'failing')),
  attempts        integer NOT NULL,
  last_error      text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, instance_id, seq)
);

-- Down Migration
DROP TABLE notification_deliveries;
DROP TABLE notification_subscriptions;
