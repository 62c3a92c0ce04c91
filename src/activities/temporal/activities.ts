import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import type { MaintenanceRequest, ScheduledBackupRequest } from '../../domain/index.js';
import {
  FLEET_WORKFLOW_ID, maintenanceUpdate, releaseSlotsSignal, requestSlotsSignal, scheduledBackupUpdate, scheduledWorkFinishedSignal, slotGrantedSignal,
  type FleetInput, type ScheduleKeeperInput, type ScheduleKeeperResult, type ScheduledWorkResult,
} from '../../workflows/messages.js';
import { keepSchedules, type ScheduleKeeperSources } from './schedule-keeper.js';
import { deleteInstanceSchedules, upsertInstanceSchedules, type InstanceSchedules, type OwnSchedules } from './schedules.js';
import { refusalOf } from './refusals.js';
import { SignalBatcher } from './signal-batcher.js';
import { openMaintenanceWindow, type WindowOpening } from './window-fan-out.js';

// Activities of the Temporal port: schedules, the fleet coordinator's slots, and handing
// scheduled work to an instance's workflow. Built on the worker's Temporal client.

export interface TemporalPortOptions {
  /** The fleet cap the coordinator starts with, until changed through the API. */
  maintenanceMaxConcurrent: number;
  /** The coordinator's workflow id (one per fleet; tests use their own). */
  fleetWorkflowId?: string;
  /** The task queue the Schedules start their runs on; unset: the calling activity's own. */
  scheduledTaskQueue?: string;
  /** Told what each run of the Schedule keeper made again (the worker's metrics). */
  observeKeeperRun?: (result: ScheduleKeeperResult) => void;
}

async function whileHeartbeating<T>(work: Promise<T>): Promise<T> {
  const context = Context.current();
  const beat = setInterval(() => context.heartbeat(), 5000);
  try {
    return await work;
  } finally {
    clearInterval(beat);
  }
}

async function sendScheduledWork(client: Client, work: () => Promise<ScheduledWorkResult>, runId: string): Promise<ScheduledWorkResult> {
  try {
    // Cancellation (a worker shutting down, a timed-out activity) ends the wait for the Update;
    // the retry asks again with the same update id, which the instance answers without redoing it.
    return await whileHeartbeating(client.withAbortSignal(Context.current().cancellationSignal, work));
  } catch (error) {
    return skippedOrThrow(error, runId);
  }
}

/** The instance refused (not ready, being deleted) or is gone: this run had nothing to do. */
function skippedOrThrow(error: unknown, runId: string): ScheduledWorkResult {
  const refusal = refusalOf(error);
  if (refusal === null) throw error;
  return { runId, status: 'skipped', detail: refusal };
}

/**
 * Hands scheduled work to the instance and returns once its validator accepted it: the result comes
 * later as a signal to the run workflow. Waiting here instead held one activity slot per open
 * window, and with more windows open than slots the instances' own activities starved (BENCHMARKS.md).
 * Returns the outcome only when there is nothing to wait for (refused, instance gone).
 */
async function handOver(start: () => Promise<unknown>, runId: string): Promise<ScheduledWorkResult | null> {
  try {
    await start();
    return null;
  } catch (error) {
    return skippedOrThrow(error, runId);
  }
}

export function createTemporalActivities(client: Client, options: TemporalPortOptions, sources: ScheduleKeeperSources) {
  const fleetWorkflowId = options.fleetWorkflowId ?? FLEET_WORKFLOW_ID;
  // Shared by every activity of this worker: the fleet gets a few batched signals, not one per instance.
  const slotRequests = new SignalBatcher<{ requester: string; taskQueue: string }>(async (items) => {
    const requesters = items.map(({ requester }) => requester);
    try {
      // the coordinator is nearly always running: a plain signal is the lighter call
      await client.workflow.getHandle(fleetWorkflowId).signal(requestSlotsSignal, { requesters });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      const initial: FleetInput = { maxConcurrent: options.maintenanceMaxConcurrent, paused: false };
      await client.workflow.signalWithStart('maintenanceFleetWorkflow', {
        workflowId: fleetWorkflowId, taskQueue: items[0]!.taskQueue, args: [initial], signal: requestSlotsSignal, signalArgs: [{ requesters }],
      });
    }
  });
  const slotReleases = new SignalBatcher<string>(async (requesters) => {
    try {
      await client.workflow.getHandle(fleetWorkflowId).signal(releaseSlotsSignal, { requesters });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  });
  return {
    async upsertInstanceSchedules(input: Omit<InstanceSchedules, 'taskQueue' | 'instanceTaskQueue'>): Promise<void> {
      // Called by the instance's workflow: the activity's queue is the instances' queue.
      const instanceTaskQueue = Context.current().info.taskQueue;
      await upsertInstanceSchedules(client, { ...input, instanceTaskQueue, taskQueue: options.scheduledTaskQueue ?? instanceTaskQueue });
    },

    /** The keeper's run: has the Schedules deleted by hand made again (see schedule-keeper.ts). */
    async keepSchedules(input: ScheduleKeeperInput): Promise<ScheduleKeeperResult> {
      const result = await keepSchedules(client, sources, { ...input, taskQueue: options.scheduledTaskQueue ?? Context.current().info.taskQueue, fleetWorkflowId });
      options.observeKeeperRun?.(result);
      return result;
    },

    /** A window's run: every instance in the window is sent its maintenance Update (see window-fan-out.ts). */
    openMaintenanceWindow: (input: WindowOpening) => openMaintenanceWindow(client, input),

    async deleteInstanceSchedules(input: { tenant: string; name: string } & OwnSchedules): Promise<void> {
      await deleteInstanceSchedules(client, input);
    },

    requestMaintenanceSlot: (input: { requester: string }): Promise<void> =>
      slotRequests.add({ requester: input.requester, taskQueue: Context.current().info.taskQueue }),

    /**
     * Tells each requester it holds a slot; returns those whose workflow is gone. Signals sent by
     * an activity, not by the coordinator itself: the server holds a workflow's lock while it
     * delivers that workflow's outgoing signal, and a coordinator granting fifty slots while
     * instances signal it back would spend its time waiting on their locks (BENCHMARKS.md).
     */
    async grantMaintenanceSlots(input: { fleetWorkflowId: string; requesters: string[] }): Promise<{ gone: string[] }> {
      const context = Context.current();
      // a retried attempt does not grant twice to those an earlier attempt reached
      const reached = new Set<string>((context.info.heartbeatDetails as string[] | undefined) ?? []);
      const gone: string[] = [];
      await Promise.all(
        input.requesters.filter((requester) => !reached.has(requester)).map(async (requester) => {
          try {
            await client.workflow.getHandle(requester).signal(slotGrantedSignal, { fleetWorkflowId: input.fleetWorkflowId });
          } catch (error) {
            if (!(error instanceof WorkflowNotFoundError)) throw error;
            gone.push(requester);
          }
          reached.add(requester);
          context.heartbeat([...reached]);
        }),
      );
      return { gone };
    },

    releaseMaintenanceSlot: (input: { requester: string }): Promise<void> => slotReleases.add(input.requester),

    /**
     * Tells a schedule's run how its work went. The instance sent this as a signal of its own, and
     * the server then wrote two events and gave the instance one more workflow task per run; from a
     * local activity it is one marker. A run that is gone (terminated) has nobody left to tell.
     */
    async reportScheduledWork(input: { runId: string; result: ScheduledWorkResult }): Promise<void> {
      try {
        await client.workflow.getHandle(input.runId).signal(scheduledWorkFinishedSignal, input.result);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    },

    /** Runs started before hand-over existed wait here for the Update's result. */
    runInstanceMaintenance: (input: { workflowId: string; request: MaintenanceRequest }) =>
      sendScheduledWork(
        client,
        () => client.workflow.getHandle(input.workflowId).executeUpdate(maintenanceUpdate, { args: [input.request], updateId: input.request.runId }),
        input.request.runId,
      ),

    handOverMaintenance: (input: { workflowId: string; request: MaintenanceRequest }) =>
      handOver(
        () => client.workflow.getHandle(input.workflowId).startUpdate(maintenanceUpdate, { args: [input.request], updateId: input.request.runId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
        input.request.runId,
      ),

    handOverScheduledBackup: (input: { workflowId: string; request: ScheduledBackupRequest }) =>
      handOver(
        () => client.workflow.getHandle(input.workflowId).startUpdate(scheduledBackupUpdate, { args: [input.request], updateId: input.request.runId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
        input.request.runId,
      ),

    /** Runs started before hand-over existed wait here for the Update's result. */
    runScheduledBackup: (input: { workflowId: string; request: ScheduledBackupRequest }) =>
      sendScheduledWork(
        client,
        () => client.workflow.getHandle(input.workflowId).executeUpdate(scheduledBackupUpdate, { args: [input.request], updateId: input.request.runId }),
        input.request.runId,
      ),
  };
}

export type TemporalActivities = ReturnType<typeof createTemporalActivities>;
