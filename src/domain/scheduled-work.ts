import { z } from 'zod';

// Work that Temporal Schedules start rather than users: a maintenance run in the instance's window
// and a scheduled backup. The run id names one run for one instance, so a retry is a no-op.

export const MaintenanceRequest = z.strictObject({
  runId: z.string().min(1),
  actor: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']),
  windowEndsAt: z.iso.datetime({ offset: true }),
  /** The window the sender found the instance in (maintenanceWindowKey); absent: any. */
  window: z.string().min(1).optional(),
  /** When the Schedule meant this window to open: one window opens one run, whoever sends it. */
  windowOpensAt: z.iso.datetime({ offset: true }).optional(),
  /** false: nobody waits for a report (absent in requests of the per-instance run workflows, which do). */
  report: z.boolean().optional(),
});
export type MaintenanceRequest = z.infer<typeof MaintenanceRequest>;

export const ScheduledBackupRequest = z.strictObject({
  runId: z.string().min(1),
  actor: z.string().min(1),
  /** Give up waiting for a running operation at this time. */
  notAfter: z.iso.datetime({ offset: true }),
});
export type ScheduledBackupRequest = z.infer<typeof ScheduledBackupRequest>;

/**
 * A window's maintenance goes to an instance that is still in that window, and once: a second
 * sender of the same window (a per-instance Schedule not yet retired, a retried fan-out under a
 * new run id) is told so instead of starting a second run.
 */
export function refuseMaintenance(
  state: { phase: string; name: string; maintenance: { runId: string; windowOpensAt?: string | undefined } | null } | null,
  request: Pick<MaintenanceRequest, 'window' | 'windowOpensAt'>,
  currentWindow: string,
): string | null {
  const refusal = refuseScheduledWork(state);
  if (refusal || !state) return refusal;
  if (request.window !== undefined && request.window !== currentWindow) return `the maintenance window of ${state.name} is now ${currentWindow}, not ${request.window}`;
  const last = state.maintenance;
  if (request.windowOpensAt !== undefined && last?.windowOpensAt === request.windowOpensAt) return `the window that opened at ${request.windowOpensAt} already has maintenance run ${last.runId}`;
  return null;
}

/** Scheduled work needs a ready instance; unlike user commands it waits for a busy one. */
export function refuseScheduledWork(state: { phase: string; name: string } | null): string | null {
  if (!state) return 'the instance is still being created';
  if (state.phase !== 'ready') return `instance ${state.name} is ${state.phase}`;
  return null;
}
