import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { InstanceEvent } from '../../domain/logic.js';

// Delivers an instance's notable events to its tenant's webhook subscriptions. A workflow of its
// own (started by the instance, abandoned by it), so deliveries survive any process dying and a
// slow receiver never holds up the instance.

const { subscribersFor } = proxyActivities<Activities>({ startToCloseTimeout: '30s' });
const { deliverNotification } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 25 },
});

export interface NotificationInput {
  instance: { tenant: string; name: string; instanceId: string };
  events: InstanceEvent[];
}

export async function notificationWorkflow(input: NotificationInput): Promise<{ delivered: number; failed: number }> {
  const targets = await subscribersFor({ tenant: input.instance.tenant, events: input.events });
  const results = await Promise.allSettled(
    targets.map(({ subscriptionId, seq }) =>
      deliverNotification.executeWithOptions(
        { summary: `notify subscription ${subscriptionId} of event #${seq}` },
        [{ subscriptionId, instance: input.instance, event: input.events.find((event) => event.seq === seq)! }],
      ),
    ),
  );
  return { delivered: results.filter((result) => result.status === 'fulfilled').length, failed: results.filter((result) => result.status === 'rejected').length };
}
