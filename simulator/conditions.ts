// Condition lists as Crossplane and StackGres keep them: one entry per type; lastTransitionTime
// changes whenever status, reason or message change (Crossplane's rule), so the time a condition
// took its current form can be read back from it — the simulator's timers are derived from it,
// which is what makes a restarted simulator pick up where the last one stopped.
import type { Condition, ConditionStatus } from './types.js';

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

export function nowIso(now: number = Date.now()): string {
  return new Date(now).toISOString();
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** Time (ms) the condition took its current form, or undefined. */
export function conditionSince(condition: Condition | undefined): number | undefined {
  if (!condition?.lastTransitionTime) return undefined;
  const t = Date.parse(condition.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Applies updates to a condition list. Returns the new list and whether anything changed; an update
 * equal to the current condition (type, status, reason, message, observedGeneration) keeps the
 * existing entry and its time. Conditions of other types are kept as they are.
 */
export function applyConditions(
  current: Condition[] | undefined,
  updates: ConditionUpdate[],
  now: number = Date.now(),
): { conditions: Condition[]; changed: boolean } {
  const conditions = [...(current ?? [])];
  let changed = false;
  for (const u of updates) {
    const index = conditions.findIndex((c) => c.type === u.type);
    const existing = index >= 0 ? conditions[index] : undefined;
    if (
      existing &&
      existing.status === u.status &&
      (existing.reason ?? '') === u.reason &&
      (existing.message ?? '') === (u.message ?? '') &&
      existing.observedGeneration === u.observedGeneration
    ) {
      continue;
    }
    const next: Condition = { type: u.type, status: u.status, reason: u.reason, lastTransitionTime: nowIso(now) };
    if (u.message) next.message = u.message;
    if (u.observedGeneration !== undefined) next.observedGeneration = u.observedGeneration;
    // Only the generation moved: keep the time of the transition itself.
    if (
      existing &&
      existing.status === u.status &&
      (existing.reason ?? '') === u.reason &&
      (existing.message ?? '') === (u.message ?? '') &&
      existing.lastTransitionTime
    ) {
      next.lastTransitionTime = existing.lastTransitionTime;
    }
    if (index >= 0) conditions[index] = next;
    else conditions.push(next);
    changed = true;
  }
  return { conditions, changed };
}
