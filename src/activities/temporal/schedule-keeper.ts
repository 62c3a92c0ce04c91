import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import pLimit from 'p-limit';
import { windowOfKey } from '../../domain/index.js';
import {
  MAINTENANCE_WINDOW_ATTRIBUTE, backupScheduleId, restoreSchedulesUpdate, scheduleKeeperId, windowScheduleId,
  type ScheduleKeeperInput, type ScheduleKeeperResult,
} from '../../workflows/messages.js';
import type { InstanceKey } from '../readmodel/keeper-queries.js';
import { refusalOf } from './refusals.js';
import { createWindowSchedule, remove, upsert } from './schedules.js';
import { releaseSlotsOfEndedHolders } from './fleet-slots.js';
import { findUnmanagedInstances } from './unmanaged-instances.js';
import { quoted, runningInstancesQuery } from './visibility.js';

// A Schedule deleted by hand ends maintenance or backups without a word: the keeper, a Schedule of
// its own, finds what is missing and has it made again.
// - A window's Schedule is made once, by the first instance in that window, and claimflow never
//   deletes it. The keeper asks visibility for one running instance whose window has no Schedule,
//   makes that window's from its key, and asks again without it.
// - An instance's backup Schedule is the instance's own: the keeper asks the instances that the
//   read model says have a backup policy, and whose Schedule is missing, to write theirs again.
// - An instance whose workflow ended outside claimflow is reported (unmanaged-instances.ts), and a
//   fleet slot its maintenance run held is handed back (fleet-slots.ts).
// With nothing missing a run is one list of Schedules, one visibility query and one read-model
// query, then one read-model query and a list of the namespace's running instances, and a query
// of the fleet with one description per slot held.

/** The window of one running instance whose window is none of `known`, if any. */
async function aWindowOutside(client: Client, instanceTaskQueue: string, known: Set<string>): Promise<string | undefined> {
  const attribute = MAINTENANCE_WINDOW_ATTRIBUTE.name;
  // Instances without the attribute predate window Schedules: their own Schedule maintains them.
  const outside = known.size > 0 ? `${attribute} NOT IN (${[...known].map(quoted).join(', ')})` : `${attribute} != ''`;
  const query = runningInstancesQuery(instanceTaskQueue, outside);
  for await (const execution of client.workflow.list({ query, pageSize: 1 })) {
    const key = execution.typedSearchAttributes.get(MAINTENANCE_WINDOW_ATTRIBUTE);
    // A server that ignored the condition would send this loop round forever.
    if (key === undefined || known.has(key)) throw new Error(`visibility answered ${execution.workflowId} in window ${String(key)} to: ${query}`);
    return key;
  }
  return undefined;
}

/** Where the keeper learns which instances should have a backup Schedule, and which should be running (the read model). */
export interface ScheduleKeeperSources {
  instancesWithBackupPolicy: () => Promise<InstanceKey[]>;
  liveInstances: () => Promise<InstanceKey[]>;
}

const KEEPER_ACTOR = 'schedule-keeper';
/** Instances asked at once: each restore is one workflow task and one call to the server. */
const RESTORING_AT_ONCE = 10;
const LEFT_LISTED = 20;
const ANSWER_WITHIN_MS = 60_000;

async function scheduleExists(client: Client, scheduleId: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleId).describe();
    return true;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return false;
    throw error;
  }
}

/** Whether the workflow runs on this deployment's task queue. */
async function runsHere(client: Client, instanceTaskQueue: string, workflowId: string): Promise<boolean> {
  for await (const _ of client.workflow.list({ query: runningInstancesQuery(instanceTaskQueue, `WorkflowId = ${quoted(workflowId)}`), pageSize: 1 })) return true;
  return false;
}

/**
 * The instance owns its backup Schedule (made, changed and deleted with its policy), so the keeper
 * does not make it: it asks the instance to write its Schedules again, from its own spec.
 */
async function restoreBackupSchedules(client: Client, listed: Set<string>, instances: InstanceKey[], instanceTaskQueue: string) {
  const restored: string[] = [];
  const left: ScheduleKeeperResult['backupsLeft'] = [];
  const limit = pLimit(RESTORING_AT_ONCE);
  await Promise.all(
    instances
      .filter(({ tenant, name }) => !listed.has(backupScheduleId(tenant, name)))
      .map(({ workflowId, tenant, name }) =>
        limit(async () => {
          // Listed Schedules lag a create by a moment: one made since the list is not missing.
          if (await scheduleExists(client, backupScheduleId(tenant, name))) return;
          // Another deployment's instance (a read model shared by two) is its keeper's to ask.
          if (!(await runsHere(client, instanceTaskQueue, workflowId))) return;
          const instance = `${tenant}/${name}`;
          // An instance whose worker does not answer is left for the next run, not waited for.
          const signal = AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(ANSWER_WITHIN_MS)]);
          try {
            const { backupSchedule } = await client.withAbortSignal(signal, () =>
              client.workflow.getHandle(workflowId).executeUpdate(restoreSchedulesUpdate, { args: [{ actor: KEEPER_ACTOR }] }),
            );
            if (backupSchedule) restored.push(instance);
            else left.push({ instance, reason: 'it has no backup policy any more' });
          } catch (error) {
            const refusal = refusalOf(error);
            if (refusal !== null) left.push({ instance, reason: refusal });
            else if (signal.aborted && !Context.current().cancellationSignal.aborted) left.push({ instance, reason: `no answer within ${ANSWER_WITHIN_MS / 1000} s` });
            else throw error;
          }
          Context.current().heartbeat({ restoredBackups: restored.length });
        }),
      ),
  );
  return { restoredBackups: restored.sort(), backupsLeft: left.slice(0, LEFT_LISTED) };
}

async function restoreWindowSchedules(client: Client, listed: Set<string>, input: ScheduleKeeperInput & { taskQueue: string }) {
  const { instanceTaskQueue, taskQueue } = input;
  const prefix = windowScheduleId(instanceTaskQueue, '');
  const known = new Set([...listed].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length)));
  const windows = known.size;
  const restored: string[] = [];
  const unreadable: string[] = [];
  for (let key = await aWindowOutside(client, instanceTaskQueue, known); key !== undefined; key = await aWindowOutside(client, instanceTaskQueue, known)) {
    known.add(key);
    const keyed = windowOfKey(key);
    if (keyed === null) unreadable.push(key);
    // Listed Schedules lag a create by a moment: one made since is found here, not made twice.
    else if (await createWindowSchedule(client, { key, ...keyed, taskQueue, instanceTaskQueue })) restored.push(key);
    Context.current().heartbeat({ restored: restored.length });
  }
  return { windowSchedules: windows + restored.length, restored, unreadable };
}

/** The keeper's run: the windows' Schedules, then the instances' backup Schedules. */
export async function keepSchedules(
  client: Client,
  sources: ScheduleKeeperSources,
  input: ScheduleKeeperInput & { taskQueue: string; fleetWorkflowId: string },
): Promise<ScheduleKeeperResult> {
  const listed = new Set<string>();
  for await (const schedule of client.schedule.list()) listed.add(schedule.scheduleId);
  const windows = await restoreWindowSchedules(client, listed, input);
  const backups = await restoreBackupSchedules(client, listed, await sources.instancesWithBackupPolicy(), input.instanceTaskQueue);
  const unmanaged = await findUnmanagedInstances(client, await sources.liveInstances(), input.instanceTaskQueue);
  const slots = await releaseSlotsOfEndedHolders(client, input.fleetWorkflowId);
  const result = { ...windows, ...backups, ...unmanaged, ...slots };
  // Someone deleted these: the worker's log says which, beside the run's result in the Temporal UI.
  const { log } = Context.current();
  if (result.restored.length > 0) log.warn('window Schedules were missing and are made again', { windows: result.restored });
  if (result.restoredBackups.length > 0) log.warn('backup Schedules were missing and their instances wrote them again', { instances: result.restoredBackups });
  if (result.unreadable.length > 0 || result.backupsLeft.length > 0) log.warn('Schedules missing and not made again', { windows: result.unreadable, instances: result.backupsLeft });
  if (result.unmanagedCount > 0) {
    log.warn('instances whose workflow ended outside claimflow: nothing maintains them until the platform team resumes them (npm run instance:resume)', { count: result.unmanagedCount, instances: result.unmanaged });
  }
  if (result.slotsReleased.length > 0) log.warn('fleet maintenance slots held by workflows that no longer run are handed back', { holders: result.slotsReleased });
  return result;
}

export interface ScheduleKeeperOptions {
  instanceTaskQueue: string;
  /** Where its runs start (the worker's scheduled queue). */
  taskQueue: string;
  /** How often it runs, as Temporal reads a duration ('1h', '15m'), or 'off'. */
  every: string;
}

/**
 * Made (or its interval changed) by every worker at start: one Schedule per deployment, whoever
 * makes it. `off` deletes it, so that a deployment turned off stays off.
 */
export async function ensureScheduleKeeper(client: Client, options: ScheduleKeeperOptions): Promise<void> {
  const scheduleId = scheduleKeeperId(options.instanceTaskQueue);
  if (options.every === 'off') return remove(client, scheduleId);
  const args: ScheduleKeeperInput = { instanceTaskQueue: options.instanceTaskQueue };
  await upsert(client, {
    scheduleId,
    spec: { intervals: [{ every: options.every }] },
    action: { type: 'startWorkflow', workflowType: 'scheduleKeeperWorkflow', args: [args], taskQueue: options.taskQueue, workflowId: scheduleId },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
    state: { note: `every ${options.every}: has the missing maintenance-window and backup Schedules of the instances on task queue ${options.instanceTaskQueue} made again, and reports those instances whose workflow was ended by hand` },
  });
}
