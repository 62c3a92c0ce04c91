import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { condition, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import {
  scheduledWorkFinishedSignal, type MaintenanceWindowRunInput, type MaintenanceWindowRunResult, type ScheduleKeeperInput, type ScheduleKeeperResult,
  type ScheduledRunInput, type ScheduledWorkResult,
} from '../messages.js';
import { patchSet } from '../patch-set.js';

// Started by Temporal Schedules. A maintenance window's run sends every instance in the window its
// maintenance Update and ends: each instance records its run in its own history and the read
// model. A scheduled backup's run (and the maintenance run of an instance's own Schedule, from
// before windows had theirs) hands its work to the instance's workflow, which owns the instance's
// one-operation-at-a-time rule, and waits for its report, so the Schedules page in the Temporal
// UI lists every run with its result and the Schedule's overlap policy sees it as running. The
// keeper's run has the Schedules that went missing made again.

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

/** The window's start as the Schedule meant it (a trigger's is its own time), set by the server on the runs it starts. */
const SCHEDULED_START_ATTRIBUTE = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const windowOpensAt = (): string => (workflowInfo().typedSearchAttributes.get(SCHEDULED_START_ATTRIBUTE) ?? new Date()).toISOString();

const { openMaintenanceWindow } = proxyActivities<Activities>({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry });

export async function maintenanceWindowWorkflow(input: MaintenanceWindowRunInput): Promise<MaintenanceWindowRunResult> {
  const windowEndsAt = new Date(Date.now() + input.windowMs).toISOString();
  const opening = { window: input.window, instanceTaskQueue: input.instanceTaskQueue, runId: workflowInfo().workflowId, actor: 'schedule:window', windowOpensAt: windowOpensAt(), windowEndsAt };
  return openMaintenanceWindow.executeWithOptions({ summary: `open maintenance window ${input.window} until ${windowEndsAt}` }, [opening]);
}

/** Runs of an instance's own maintenance Schedule: the instance moves to its window's Schedule on this run. */
export async function maintenanceRunWorkflow(input: ScheduledRunInput): Promise<ScheduledWorkResult> {
  const runId = workflowInfo().workflowId;
  const windowEndsAt = new Date(Date.now() + input.windowMs).toISOString();
  const options = { summary: `maintenance of ${input.tenant}/${input.name}, window until ${windowEndsAt}` };
  const args = { workflowId: input.instanceWorkflowId, request: { runId, actor: `schedule:${input.trigger}`, trigger: input.trigger, windowEndsAt, windowOpensAt: windowOpensAt() } };
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

const { keepSchedules } = proxyActivities<Activities>({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry });

export async function scheduleKeeperWorkflow(input: ScheduleKeeperInput): Promise<ScheduleKeeperResult> {
  return keepSchedules.executeWithOptions({ summary: `have the missing Schedules of the instances on ${input.instanceTaskQueue} made again` }, [input]);
}
