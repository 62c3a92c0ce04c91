import type { EventType, InstanceEvent } from './events.js';

// What tenants can subscribe to, as Flux's notification controller does for GitOps: topics that
// group event types, delivered to a webhook as Slack-compatible JSON.

export const NOTIFICATION_TOPICS = {
  failures: ['ProvisioningFailed', 'OperationFailed', 'UpgradeFailed', 'BackupFailed', 'MaintenanceFailed', 'InstanceAdopted'],
  upgrades: ['UpgradeCompleted'],
  maintenance: ['MaintenanceCompleted', 'MaintenanceSkipped'],
  deletions: ['InstanceDeleted'],
} as const satisfies Record<string, readonly EventType[]>;

export type NotificationTopic = keyof typeof NOTIFICATION_TOPICS;
export const TOPIC_NAMES = Object.keys(NOTIFICATION_TOPICS) as [NotificationTopic, ...NotificationTopic[]];

export const topicOf = (type: EventType): NotificationTopic | undefined =>
  TOPIC_NAMES.find((topic) => (NOTIFICATION_TOPICS[topic] as readonly EventType[]).includes(type));

const ICON: Record<NotificationTopic, string> = { failures: ':x:', upgrades: ':arrow_up:', maintenance: ':wrench:', deletions: ':wastebasket:' };

/** A Slack-compatible message (text + blocks) that also carries the event for machines. */
export function notificationPayload(instance: { tenant: string; name: string }, event: InstanceEvent) {
  const topic = topicOf(event.type) ?? 'failures';
  const detail = 'message' in event.data ? `: ${event.data.message}` : 'version' in event.data ? ` to ${event.data.version}` : '';
  const text = `${ICON[topic]} ${instance.tenant}/${instance.name}: ${event.type}${detail}`;
  return {
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    claimflow: { topic, tenant: instance.tenant, instance: instance.name, event },
  };
}
