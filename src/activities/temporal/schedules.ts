import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { BackupPolicy, MaintenanceWindow } from '../../domain/index.js';
import { backupScheduleId, maintenanceScheduleId, type ScheduledRunInput } from '../../workflows/messages.js';

// Each instance's Temporal Schedules: one for its maintenance window, one for its backup policy.
// Created at provisioning, updated when the window or policy changes, deleted at deprovisioning.

export interface InstanceSchedules {
  tenant: string;
  name: string;
  instanceWorkflowId: string;
  taskQueue: string;
  maintenanceWindow: MaintenanceWindow;
  /** Overrides the window's length (tests use seconds). */
  windowMs?: number;
  backup?: BackupPolicy | undefined;
}

type DayOfWeek = 'MONDAY' | 'TUESDAY' | 'WEDNESDAY' | 'THURSDAY' | 'FRIDAY' | 'SATURDAY' | 'SUNDAY';
const BACKUP_WAIT_MS = 60 * 60_000;

function maintenanceSchedule(input: InstanceSchedules): ScheduleOptions {
  const { tenant, name, maintenanceWindow: window } = input;
  const [hour, minute] = window.timeOfDay.split(':').map(Number) as [number, number];
  const windowMs = input.windowMs ?? window.durationMinutes * 60_000;
  const args: ScheduledRunInput = { instanceWorkflowId: input.instanceWorkflowId, tenant, name, windowMs, trigger: 'schedule' };
  return {
    scheduleId: maintenanceScheduleId(tenant, name),
    spec: { calendars: [{ dayOfWeek: window.dayOfWeek.toUpperCase() as DayOfWeek, hour, minute }], timezone: 'UTC' },
    action: { type: 'startWorkflow', workflowType: 'maintenanceRunWorkflow', args: [args], taskQueue: input.taskQueue, workflowId: `maintenance-run/${tenant}/${name}` },
    // A server that was down at the window's start still runs it while the window lasts.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: windowMs },
    state: { note: `maintenance window of ${tenant}/${name}: ${window.dayOfWeek} ${window.timeOfDay} UTC for ${Math.round(windowMs / 60_000)} min` },
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

async function upsert(client: Client, options: ScheduleOptions): Promise<void> {
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

async function remove(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
}

export async function upsertInstanceSchedules(client: Client, input: InstanceSchedules): Promise<void> {
  await upsert(client, maintenanceSchedule(input));
  if (input.backup) await upsert(client, backupSchedule(input, input.backup));
  else await remove(client, backupScheduleId(input.tenant, input.name));
}

export async function deleteInstanceSchedules(client: Client, tenant: string, name: string): Promise<void> {
  await remove(client, maintenanceScheduleId(tenant, name));
  await remove(client, backupScheduleId(tenant, name));
}
