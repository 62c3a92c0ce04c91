import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { ScheduledRunInput, ScheduledWorkResult } from '../messages.js';

// Started by each instance's Temporal Schedules. Each run hands its work to the instance's own
// workflow (which owns the instance's one-operation-at-a-time rule) and reports how it went, so the
// Schedules page in the Temporal UI lists every run with its result.

const { runInstanceMaintenance, runScheduledBackup } = proxyActivities<Activities>({
  startToCloseTimeout: '24h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export async function maintenanceRunWorkflow(input: ScheduledRunInput): Promise<ScheduledWorkResult> {
  const runId = workflowInfo().workflowId;
  const windowEndsAt = new Date(Date.now() + input.windowMs).toISOString();
  return runInstanceMaintenance.executeWithOptions(
    { summary: `maintenance of ${input.tenant}/${input.name}, window until ${windowEndsAt}` },
    [{ workflowId: input.instanceWorkflowId, request: { runId, actor: `schedule:${input.trigger}`, trigger: input.trigger, windowEndsAt } }],
  );
}

export async function scheduledBackupWorkflow(input: ScheduledRunInput): Promise<ScheduledWorkResult> {
  const runId = workflowInfo().workflowId;
  const notAfter = new Date(Date.now() + input.windowMs).toISOString();
  return runScheduledBackup.executeWithOptions(
    { summary: `scheduled backup of ${input.tenant}/${input.name}` },
    [{ workflowId: input.instanceWorkflowId, request: { runId, actor: 'schedule:backup', notAfter } }],
  );
}
