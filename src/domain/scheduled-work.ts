import { z } from 'zod';

// Work that Temporal Schedules start rather than users: a maintenance run in the instance's window
// and a scheduled backup. The run id is the schedule's workflow id, so a retry is a no-op.

export const MaintenanceRequest = z.strictObject({
  runId: z.string().min(1),
  actor: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']),
  windowEndsAt: z.iso.datetime({ offset: true }),
});
export type MaintenanceRequest = z.infer<typeof MaintenanceRequest>;

export const ScheduledBackupRequest = z.strictObject({
  runId: z.string().min(1),
  actor: z.string().min(1),
  /** Give up waiting for a running operation at this time. */
  notAfter: z.iso.datetime({ offset: true }),
});
export type ScheduledBackupRequest = z.infer<typeof ScheduledBackupRequest>;

/** Scheduled work needs a ready instance; unlike user commands it waits for a busy one. */
export function refuseScheduledWork(state: { phase: string; name: string } | null): string | null {
  if (!state) return 'the instance is still being created';
  if (state.phase !== 'ready') return `instance ${state.name} is ${state.phase}`;
  return null;
}
