// The Temporal ceiling for the provisioning bench: a workflow that runs `activities` no-op
// activities one after another, as an instance's provisioning runs its activities.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop: () => Promise<void> }>({ startToCloseTimeout: '30s' });

export async function noopChainWorkflow(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
}
