import type { Pool } from 'pg';
import type { NotificationTopic } from '../domain/index.js';
import type { DeliveryView, SubscriptionCreated, SubscriptionView } from './schemas.js';

// Webhook subscriptions (the API writes them; the notification activities read them) and the
// outcome of each delivery (written by the delivery activity). The signing secret is read here
// only by `create`, to answer the request that made it (or a repeat of it with the same
// Idempotency-Key): lists never select it.

interface SubscriptionRow {
  id: string;
  tenant: string;
  url: string;
  topics: NotificationTopic[];
  created_at: Date;
}

interface DeliveryRow {
  subscription_id: string;
  instance_id: string;
  name: string | null;
  seq: number;
  event_type: string;
  status: DeliveryView['status'];
  attempts: number;
  last_error: string | null;
  updated_at: Date;
}

export interface NewSubscription {
  id: string;
  tenant: string;
  url: string;
  topics: NotificationTopic[];
  secret: string;
}

export type CreateResult = { created: true; subscription: SubscriptionCreated } | { created: false; existing: SubscriptionCreated & { tenant: string } };

const view = (row: SubscriptionRow): SubscriptionView => ({ id: row.id, url: row.url, topics: row.topics, createdAt: row.created_at.toISOString() });

export class SubscriptionStore {
  constructor(private readonly pool: Pool) {}

  /** Inserts the subscription unless one with its id exists; then returns that one (for an idempotent repeat). */
  async create(subscription: NewSubscription): Promise<CreateResult> {
    const inserted = await this.pool.query<SubscriptionRow>(
      `INSERT INTO notification_subscriptions (id, tenant, url, topics, secret, created_at) VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (id) DO NOTHING RETURNING id, tenant, url, topics, created_at`,
      [subscription.id, subscription.tenant, subscription.url, subscription.topics, subscription.secret],
    );
    const row = inserted.rows[0];
    if (row) return { created: true, subscription: { ...view(row), secret: subscription.secret } };
    const { rows } = await this.pool.query<SubscriptionRow & { secret: string }>(
      'SELECT id, tenant, url, topics, secret, created_at FROM notification_subscriptions WHERE id = $1',
      [subscription.id],
    );
    const existing = rows[0];
    // Deleted between the two statements: the id is free again.
    if (!existing) return this.create(subscription);
    return { created: false, existing: { ...view(existing), tenant: existing.tenant, secret: existing.secret } };
  }

  async list(tenant: string): Promise<SubscriptionView[]> {
    const { rows } = await this.pool.query<SubscriptionRow>(
      'SELECT id, tenant, url, topics, created_at FROM notification_subscriptions WHERE tenant = $1 ORDER BY created_at, id',
      [tenant],
    );
    return rows.map(view);
  }

  /** False if the tenant has no subscription with this id. Its deliveries go with it. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM notification_subscriptions WHERE tenant = $1 AND id = $2', [tenant, id]);
    return (result.rowCount ?? 0) > 0;
  }

  /** The tenant's most recent delivery outcomes. */
  async deliveries(tenant: string, limit: number): Promise<DeliveryView[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT d.subscription_id, d.instance_id, i.name, d.seq, d.event_type, d.status, d.attempts, d.last_error, d.updated_at
       FROM notification_deliveries d
       JOIN notification_subscriptions s ON s.id = d.subscription_id
       LEFT JOIN instances i ON i.instance_id = d.instance_id
       WHERE s.tenant = $1
       ORDER BY d.updated_at DESC, d.subscription_id, d.instance_id, d.seq DESC
       LIMIT $2`,
      [tenant, limit],
    );
    return rows.map((row) => ({
      subscriptionId: row.subscription_id,
      instance: row.name,
      instanceId: row.instance_id,
      seq: row.seq,
      eventType: row.event_type,
      status: row.status,
      attempts: row.attempts,
      lastError: row.last_error,
      updatedAt: row.updated_at.toISOString(),
    }));
  }
}
