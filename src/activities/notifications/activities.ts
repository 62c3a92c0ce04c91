import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { notificationPayload, topicOf, type InstanceEvent } from '../../domain/index.js';

// Activities of the notification port: who wants an event, and one signed delivery. Retried with
// backoff by Temporal; the outcome of every attempt is kept in notification_deliveries.

export const SIGNATURE_HEADER = 'x-claimflow-signature';
export const TIMESTAMP_HEADER = 'x-claimflow-timestamp';

/** `sha256=<hex>` of `<timestamp>.<body>`, so a receiver can refuse replays of old deliveries. */
export const sign = (secret: string, timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export interface DeliveryTarget {
  subscriptionId: string;
  instance: { tenant: string; name: string; instanceId: string };
  event: InstanceEvent;
}

export function createNotificationActivities(pool: Pool, options: { timeoutMs?: number } = {}) {
  return {
    async subscribersFor(input: { tenant: string; events: InstanceEvent[] }): Promise<{ subscriptionId: string; seq: number }[]> {
      const { rows } = await pool.query<{ id: string; topics: string[] }>('SELECT id, topics FROM notification_subscriptions WHERE tenant = $1 ORDER BY id', [input.tenant]);
      return rows.flatMap((subscription) =>
        input.events.filter((event) => subscription.topics.includes(topicOf(event.type) ?? '')).map((event) => ({ subscriptionId: subscription.id, seq: event.seq })),
      );
    },

    async deliverNotification(target: DeliveryTarget): Promise<void> {
      const { rows } = await pool.query<{ url: string; secret: string }>('SELECT url, secret FROM notification_subscriptions WHERE id = $1', [target.subscriptionId]);
      const subscription = rows[0];
      if (!subscription) return; // unsubscribed since: nothing to deliver
      const body = JSON.stringify(notificationPayload(target.instance, target.event));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const attempt = Context.current().info.attempt;
      const record = (status: 'delivered' | 'failing', error: string | null) =>
        pool.query(
          `INSERT INTO notification_deliveries (subscription_id, instance_id, seq, event_type, status, attempts, last_error, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,now())
           ON CONFLICT (subscription_id, instance_id, seq) DO UPDATE SET status = $5, attempts = $6, last_error = $7, updated_at = now()`,
          [target.subscriptionId, target.instance.instanceId, target.event.seq, target.event.type, status, attempt, error],
        );
      let response: Response;
      try {
        response = await fetch(subscription.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(subscription.secret, timestamp, body), [TIMESTAMP_HEADER]: timestamp },
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        await record('failing', (error as Error).message);
        throw error;
      }
      if (response.ok) {
        await record('delivered', null);
        return;
      }
      await record('failing', `HTTP ${response.status}`);
      // A 4xx other than 408/429 will not get better by retrying.
      const permanent = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
      if (permanent) throw ApplicationFailure.nonRetryable(`webhook answered ${response.status}`, 'WebhookRejected');
      throw ApplicationFailure.retryable(`webhook answered ${response.status}`, 'WebhookUnavailable');
    },
  };
}
