import type { MaintenanceRequest } from './schemas.js';

// Whether an instance takes scheduled work now (the requests' schemas: ./define-schemas.ts).

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
