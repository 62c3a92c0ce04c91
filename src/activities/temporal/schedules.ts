import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { maintenanceWindowKey, windowLengthMs, type BackupPolicy, type KeyedWindow, type MaintenanceWindow } from '../../domain/index.js';
import { backupScheduleId, maintenanceScheduleId, windowScheduleId, type MaintenanceWindowRunInput, type ScheduledRunInput } from '../../workflows/messages.js';

// The Temporal Schedules of maintenance and backups. Maintenance: one Schedule per window, shared
// by every instance in it, made when the first instance takes that window and kept (a window with
// nobody in it costs one short run a week). Backups: one per instance with a backup policy,
// updated when the policy changes, deleted at deprovisioning.

export interface InstanceSchedules {
  tenant: string;
  name: string;
  instanceWorkflowId: string;
  /** Where the runs of the Schedules start (the worker's scheduled queue). */
  taskQueue: string;
  /** The instances' own queue, which a window's run looks for its instances on. */
  instanceTaskQueue: string;
  maintenanceWindow: MaintenanceWindow;
  /** Overrides the window's length (tests use seconds). */
  windowMs?: number;
  backup?: BackupPolicy | undefined;
  /** The instance still has a Schedule of its own for maintenance, from before windows had theirs: delete it. */
  retireOwnMaintenanceSchedule?: boolean;
  /** At provisioning the instance has no backup Schedule yet: none to remove when it has no policy. */
  provisioning?: boolean;
}

type DayOfWeek = 'MONDAY' | 'TUESDAY' | 'WEDNESDAY' | 'THURSDAY' | 'FRIDAY' | 'SATURDAY' | 'SUNDAY';
const BACKUP_WAIT_MS = 60 * 60_000;

/** A window's Schedule is made from its key's parts alone, so the keeper can make it again from a key. */
export interface WindowScheduleInput extends KeyedWindow {
  key: string;
  /** Where the window's run starts (the worker's scheduled queue). */
  taskQueue: string;
  /** The instances' queue, which the run looks for the window's instances on. */
  instanceTaskQueue: string;
}

function windowSchedule({ key, window, windowMs, taskQueue, instanceTaskQueue }: WindowScheduleInput): ScheduleOptions {
  const [hour, minute] = window.timeOfDay.split(':').map(Number) as [number, number];
  const scheduleId = windowScheduleId(instanceTaskQueue, key);
  const args: MaintenanceWindowRunInput = { window: key, instanceTaskQueue, windowMs };
  return {
    scheduleId,
    spec: { calendars: [{ dayOfWeek: window.dayOfWeek.toUpperCase() as DayOfWeek, hour, minute }], timezone: 'UTC' },
    action: { type: 'startWorkflow', workflowType: 'maintenanceWindowWorkflow', args: [args], taskQueue, workflowId: scheduleId },
    // A server that was down at the window's start still runs it while the window lasts.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: windowMs },
    state: { note: `maintenance window ${window.dayOfWeek} ${window.timeOfDay} UTC for ${Math.round(windowMs / 60_000)} min, of the instances on task queue ${instanceTaskQueue}` },
  };
}

function backupSchedule(input: InstanceSchedules, policy: BackupPolicy): ScheduleOptions {
  const { tenant, name } = input;
  const args: ScheduledRunInput = { instanceWorkflowId: input.instanceWorkflowId, tenant, name, windowMs: BACKUP_WAIT_MS, trigger: 'schedule' };
  return {
    scheduleId: backupScheduleId(tenant, name),
    spec: { cronExpressions: [policy.schedule], timezone: 'UTC' },
    action: { type: 'startWorkflow', workflowType: 'scheduledBackupWorkflow', args: [args], taskQueue: input.taskQueue, workflowId: `backup-run/${tenant}/${name}` },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
    state: { note: `backups of ${tenant}/${name}: "${policy.schedule}" UTC, keeping ${policy.retention}` },
  };
}

export async function upsert(client: Client, options: ScheduleOptions): Promise<void> {
  try {
    await client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: { ...previous.policies, ...options.policies },
      state: { ...previous.state, note: options.state?.note },
    }));
  }
}

export async function remove(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
}

/**
 * Window Schedules this process made or found: claimflow never changes or deletes them, so one
 * that exists needs no call (at fleet scale, a create per provisioning is a server write each).
 * One deleted by hand anyway is made again by the Schedule keeper (schedule-keeper.ts).
 */
const knownWindowSchedules = new Set<string>();

/** Makes the window's Schedule unless it exists; says whether it made it. */
export async function createWindowSchedule(client: Client, input: WindowScheduleInput): Promise<boolean> {
  const options = windowSchedule(input);
  let created = true;
  try {
    await client.schedule.create(options);
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    created = false;
  }
  knownWindowSchedules.add(options.scheduleId);
  return created;
}

async function ensureWindowSchedule(client: Client, input: InstanceSchedules): Promise<void> {
  const key = maintenanceWindowKey(input.maintenanceWindow, input.windowMs);
  if (knownWindowSchedules.has(windowScheduleId(input.instanceTaskQueue, key))) return;
  const windowMs = windowLengthMs(input.maintenanceWindow, input.windowMs);
  await createWindowSchedule(client, { key, window: input.maintenanceWindow, windowMs, taskQueue: input.taskQueue, instanceTaskQueue: input.instanceTaskQueue });
}

export async function upsertInstanceSchedules(client: Client, input: InstanceSchedules): Promise<void> {
  await ensureWindowSchedule(client, input);
  if (input.retireOwnMaintenanceSchedule) await remove(client, maintenanceScheduleId(input.tenant, input.name));
  if (input.backup) await upsert(client, backupSchedule(input, input.backup));
  else if (!input.provisioning) await remove(client, backupScheduleId(input.tenant, input.name));
}

/** Which Schedules of its own an instance may have; absent (requests from before): both. */
export interface OwnSchedules {
  /** A maintenance Schedule from before windows had theirs. */
  maintenance?: boolean;
  backup?: boolean;
}

/** The instance's own Schedules; its window's Schedule stays for the others in that window. */
export async function deleteInstanceSchedules(client: Client, input: { tenant: string; name: string } & OwnSchedules): Promise<void> {
  if (input.maintenance !== false) await remove(client, maintenanceScheduleId(input.tenant, input.name));
  if (input.backup !== false) await remove(client, backupScheduleId(input.tenant, input.name));
}
