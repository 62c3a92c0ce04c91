import { condition, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { scheduledWorkFinishedSignal, type ScheduledRunInput, type ScheduledWorkResult } from '../messages.js';
import { patchSet } from '../patch-set.js';

// Started by each instance's Temporal Schedules. Each run hands its work to the instance's own
// workflow (which owns the instance's one-operation-at-a-time rule) and reports how it went, so the
// Schedules page in the Temporal UI lists every run with its result. The run lives until the work
// ends, so the Schedule's overlap policy sees it as running.

const retry = { initialInterval: '1s', maximumInterval: '30s' };
const { runInstanceMaintenance, runScheduledBackup } = proxyActivities<Activities>({ startToCloseTimeout: '24h', heartbeatTimeout: '30s', retry });
const handOvers = proxyActivities<Activities>({ startToCloseTimeout: '1m', retry });
// The hand-over is one call that returns once the instance accepted: run in this workflow's own
// task, it costs the server no activity and no task of its own.
const localHandOvers = proxyLocalActivities<Activities>({ startToCloseTimeout: '1m', retry });

// Runs started before it waited inside an activity for the Update's result.
const HAND_OVER_PATCH = 'scheduled-work-hand-over';
// Runs started before the hand-over was a local activity replay it as an activity.
const LOCAL_HAND_OVER_PATCH = 'hand-over-by-local-activity';
// Every run is new, so each asked both patches (two markers, two visibility writes): now one.
const runPatched = patchSet('scheduled-run-patches-2026-11', [HAND_OVER_PATCH, LOCAL_HAND_OVER_PATCH]);
const handOverProxy = () => (runPatched(LOCAL_HAND_OVER_PATCH) ? localHandOvers : handOvers);
/** How long past its window a run waits for the instance's report (an upgrade may outlast the window). */
const REPORT_GRACE_MS = 24 * 60 * 60 * 1000;

/** Hands the work over, then waits for the instance's report (a signal), not holding a worker slot. */
async function handOverAndWait(handOver: () => Promise<ScheduledWorkResult | null>, runId: string, windowMs: number): Promise<ScheduledWorkResult> {
  let report: ScheduledWorkResult | undefined;
  setHandler(scheduledWorkFinishedSignal, (result) => {
    report = result;
  });
  const refused = await handOver();
  if (refused) return refused;
  const reported = await condition(() => report !== undefined, windowMs + REPORT_GRACE_MS);
  return reported && report ? report : { runId, status: 'failed', detail: 'the instance did not report an outcome in time' };
}

export async function maintenanceRunWorkflow(input: ScheduledRunInput): Promise<ScheduledWorkResult> {
  const runId = workflowInfo().workflowId;
  const windowEndsAt = new Date(Date.now() + input.windowMs).toISOString();
  const options = { summary: `maintenance of ${input.tenant}/${input.name}, window until ${windowEndsAt}` };
  const args = { workflowId: input.instanceWorkflowId, request: { runId, actor: `schedule:${input.trigger}`, trigger: input.trigger, windowEndsAt } };
  if (!runPatched(HAND_OVER_PATCH)) return runInstanceMaintenance.executeWithOptions(options, [args]);
  return handOverAndWait(() => handOverProxy().handOverMaintenance.executeWithOptions(options, [args]), runId, input.windowMs);
}

export async function scheduledBackupWorkflow(input: ScheduledRunInput): Promise<ScheduledWorkResult> {
  const runId = workflowInfo().workflowId;
  const notAfter = new Date(Date.now() + input.windowMs).toISOString();
  const options = { summary: `scheduled backup of ${input.tenant}/${input.name}` };
  const args = { workflowId: input.instanceWorkflowId, request: { runId, actor: 'schedule:backup', notAfter } };
  if (!runPatched(HAND_OVER_PATCH)) return runScheduledBackup.executeWithOptions(options, [args]);
  return handOverAndWait(() => handOverProxy().handOverScheduledBackup.executeWithOptions(options, [args]), runId, input.windowMs);
}
