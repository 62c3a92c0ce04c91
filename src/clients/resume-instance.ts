import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type SignalDefinition, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Pool } from 'pg';
import { liveInstanceLog, type InstanceLog } from '../activities/readmodel/instance-log.js';
import { operationToResume, reduceAll } from '../domain/index.js';
import {
  FLEET_WORKFLOW_ID, INSTANCE_WORKFLOW_TYPE, SEEN_REQUEST_IDS_KEPT, holdSlotsSignal, initialInstanceSearchAttributes, maintenanceSlotQuery, requestSlotsSignal,
  type InstanceWorkflowInput, type LifecycleSettings, type MaintenanceSlotState,
} from '../workflows/messages.js';
import type { instanceWorkflow } from '../workflows/index.js';
import { describeIfKept } from './workflow-runs.js';

// Gives an instance whose workflow was ended outside claimflow (terminated or cancelled by hand)
// a workflow again, for the platform team's script (npm run instance:resume). While Temporal
// keeps the ended run's history, the run is reset to its last workflow task and carries on from
// its history, handlers and all. Past the namespace's retention that history is gone: a new
// workflow takes over from the read model's log, which keeps every event ever projected.

export interface ResumeTarget {
  client: Client;
  pool: Pool;
  /** The instances' task queue of this deployment: an instance of another is left to that one. */
  taskQueue: string;
  /** Passed into an adopting workflow as the API passes them into new ones (tests shorten the timeouts). */
  lifecycleSettings?: Partial<LifecycleSettings>;
  /** The deployment's fleet coordinator (MAINTENANCE_FLEET_ID), asked again for a slot a reset run still waits for. */
  fleetWorkflowId?: string;
}

export interface ResumeRequest {
  tenant: string;
  name: string;
  /** Why: kept in Temporal's reset record or in the InstanceAdopted event. */
  reason: string;
  /** Who: "platform:<user>" from the script. */
  actor: string;
}

export type ResumeOutcome =
  | { outcome: 'running'; runId: string }
  | { outcome: 'reset'; endedStatus: string; endedRunId: string; runId: string; maintenanceSlot?: SlotRepair }
  | { outcome: 'adopted'; runId: string; events: number; abandonedOperation?: OperationRef; resumedOperation?: OperationRef };

type OperationRef = { id: string; type: string };
/**
 * What a reset did for the fleet slot of the maintenance run it carries on: counted again as
 * held, or asked for again; not repaired (with why) when the ended run or the fleet could not be asked.
 */
export type SlotRepair = SlotRepaired | { notRepaired: string };
type SlotRepaired = { done: 'held again' | 'asked for again'; fleetWorkflowId: string };
/** The coordinator's signals that name instances: `holdSlots`, `requestSlots`. */
type FleetSignal = SignalDefinition<[{ requesters: string[] }]>;

// How long the ended run's slot may take to answer: a worker replays its history for the query.
const SLOT_QUERY_TIMEOUT_MS = 15_000;

/** A resume that would do harm or cannot be done; the message says why. */
export class ResumeRefused extends Error {}

export async function resumeInstance(target: ResumeTarget, request: ResumeRequest): Promise<ResumeOutcome> {
  const { tenant, name } = request;
  const log = await liveInstanceLog(target.pool, tenant, name);
  if (!log) throw new ResumeRefused(`the read model has no instance ${tenant}/${name} that is not deleted`);
  const latest = await describeIfKept(target.client.workflow.getHandle(log.workflowId));
  // Temporal answers for a workflow id with its newest run only: once that run's history is gone,
  // an older run it may still keep is not reset (it would replay to a state behind the read model's).
  if (!latest) return adopt(target, request, log);
  if (latest.taskQueue !== target.taskQueue) {
    throw new ResumeRefused(`${tenant}/${name} runs on task queue ${latest.taskQueue}, not ${target.taskQueue}: resume it with that deployment's settings`);
  }
  switch (latest.status.name) {
    case 'RUNNING':
      return { outcome: 'running', runId: latest.runId };
    case 'COMPLETED':
    case 'CONTINUED_AS_NEW':
      // Only a deletion completes an instance's workflow: the read model has not caught up with it.
      throw new ResumeRefused(`the workflow of ${tenant}/${name} completed (${latest.status.name}) but the read model still shows it live: run npm run readmodel:rebuild`);
    default:
      return reset(target, request, latest);
  }
}

/**
 * Resets the ended run to its last completed workflow task: the commands it had accepted run on.
 * A maintenance run among them keeps its place with the fleet: the slot it held is counted again
 * before it can go on (the keeper hands back the slots of runs that ended), and a slot it was
 * waiting for is asked for again after (a grant sent while it had ended went to the next in line).
 */
async function reset(target: ResumeTarget, request: ResumeRequest, ended: WorkflowExecutionDescription): Promise<ResumeOutcome> {
  const { client } = target;
  const history = await client.workflow.getHandle(ended.workflowId, ended.runId).fetchHistory();
  const lastTask = history.events?.findLast((event) => event.workflowTaskCompletedEventAttributes)?.eventId;
  if (lastTask === undefined || lastTask === null) {
    throw new ResumeRefused(`the workflow of ${request.tenant}/${request.name} ended before it completed a workflow task: there is nothing to reset to`);
  }
  const slot = await slotOfEndedRun(client, ended);
  const tellFleet = (signal: FleetSignal, done: SlotRepaired['done']): Promise<SlotRepair | undefined> => {
    const fleetWorkflowId = ('fleetWorkflowId' in slot && slot.fleetWorkflowId) || target.fleetWorkflowId || FLEET_WORKFLOW_ID;
    return signalFleet(client, fleetWorkflowId, signal, ended.workflowId, { done, fleetWorkflowId });
  };
  const held = slot.slot === 'granted' ? await tellFleet(holdSlotsSignal, 'held again') : undefined;
  const { runId } = await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId: ended.workflowId, runId: ended.runId },
    reason: `${request.reason} (by ${request.actor})`,
    workflowTaskFinishEventId: lastTask,
    requestId: randomUUID(),
  });
  const asked = slot.slot === 'waiting' ? await tellFleet(requestSlotsSignal, 'asked for again') : undefined;
  const maintenanceSlot: SlotRepair | undefined = slot.slot === 'unknown' ? { notRepaired: slot.why } : held ?? asked;
  return { outcome: 'reset', endedStatus: ended.status.name, endedRunId: ended.runId, runId: runId ?? '', ...(maintenanceSlot ? { maintenanceSlot } : {}) };
}

/** Where the ended run's maintenance stood with the fleet, as a worker replaying its history answers. */
async function slotOfEndedRun(client: Client, ended: WorkflowExecutionDescription): Promise<MaintenanceSlotState | { slot: 'unknown'; why: string }> {
  try {
    const handle = client.workflow.getHandle(ended.workflowId, ended.runId);
    return await client.withDeadline(Date.now() + SLOT_QUERY_TIMEOUT_MS, () => handle.query(maintenanceSlotQuery));
  } catch (error) {
    return { slot: 'unknown', why: `the ended run did not say whether its maintenance held a fleet slot (is a worker running?): ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Nothing when the coordinator is gone: a new one counts no holder and no waiter. Any other
 * failure is reported rather than thrown: the reset goes on (or has been done) either way.
 */
async function signalFleet(client: Client, fleetWorkflowId: string, signal: FleetSignal, requester: string, repaired: SlotRepaired): Promise<SlotRepair | undefined> {
  try {
    await client.workflow.getHandle(fleetWorkflowId).signal(signal, { requesters: [requester] });
    return repaired;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    return { notRepaired: `${fleetWorkflowId} could not be told (${repaired.done}): ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Starts a workflow that carries the instance on from the read model's log folded by the domain's reducer. */
async function adopt(target: ResumeTarget, request: ResumeRequest, log: InstanceLog): Promise<ResumeOutcome> {
  const state = reduceAll(log.events);
  if (!state || state.lastSeq !== log.events.length || state.instanceId !== log.instanceId) {
    throw new ResumeRefused(`the read model's log of ${request.tenant}/${request.name} is not whole (${log.events.length} events): run npm run readmodel:rebuild`);
  }
  const input: InstanceWorkflowInput = {
    tenant: request.tenant,
    instanceId: state.instanceId,
    spec: state.spec,
    requestId: randomUUID(),
    actor: request.actor,
    // Every request the log holds was handled: a client retrying one gets its first answer, not a second run.
    carried: { state, seenRequestIds: [...new Set(log.events.map((event) => event.requestId))].slice(-SEEN_REQUEST_IDS_KEPT) },
    adoption: { reason: request.reason },
    ...(target.lifecycleSettings ? { settings: target.lifecycleSettings } : {}),
  };
  try {
    const handle = await target.client.workflow.start<typeof instanceWorkflow>(INSTANCE_WORKFLOW_TYPE, {
      workflowId: log.workflowId,
      taskQueue: target.taskQueue,
      args: [input],
      typedSearchAttributes: initialInstanceSearchAttributes(input, state.phase),
      // An older run Temporal still keeps is closed: the new one may start beside it.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
    // The workflow makes the same choice from the same state (InstanceAdopted says which it made).
    const running = state.runningOperation;
    const operation = running && { id: running.id, type: running.type };
    return {
      outcome: 'adopted',
      runId: handle.firstExecutionRunId,
      events: log.events.length,
      ...(operation ? (operationToResume(state) ? { resumedOperation: operation } : { abandonedOperation: operation }) : {}),
    };
  } catch (error) {
    // Another resume got there first.
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { outcome: 'running', runId: (await target.client.workflow.getHandle(log.workflowId).describe()).runId };
    }
    throw error;
  }
}
