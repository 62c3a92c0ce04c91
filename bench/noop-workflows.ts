// The Temporal ceiling for the provisioning and maintenance benches: a workflow that runs as many
// no-op activities one after another as the measured work does, local ones as local activities.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop: () => Promise<void> }>({ startToCloseTimeout: '30s' });
const { noop: localNoop } = proxyLocalActivities<{ noop: () => Promise<void> }>({ startToCloseTimeout: '30s' });

/** Local ones go first in each pair, as a step's projection goes ahead of its cluster call. */
export async function noopChainWorkflow(activities: number, localActivities = 0): Promise<void> {
  for (let i = 0; i < Math.max(activities, localActivities); i++) {
    if (i < localActivities) await localNoop();
    if (i < activities) await noop();
  }
}
