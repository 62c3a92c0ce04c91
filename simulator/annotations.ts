// Failure injection: annotations with the prefix sim.claimflow.io/ on a claim, an SGDbOps or an
// SGBackup (the table is in docs/simulator.md). They are read each time the object they affect is
// acted on, so a test may add them at any time, with any field manager.
import type { KubernetesObject } from '@kubernetes/client-node';

export const ANNOTATION_PREFIX = 'sim.claimflow.io/';

export const Annotations = {
  // on a PostgreSQLInstance claim
  failProvisioning: `${ANNOTATION_PREFIX}fail-provisioning`,
  readyDelayMs: `${ANNOTATION_PREFIX}ready-delay-ms`,
  failOps: `${ANNOTATION_PREFIX}fail-ops`,
  timeoutOps: `${ANNOTATION_PREFIX}timeout-ops`,
  failBackups: `${ANNOTATION_PREFIX}fail-backups`,
  opDelayMs: `${ANNOTATION_PREFIX}op-delay-ms`,
  backupDelayMs: `${ANNOTATION_PREFIX}backup-delay-ms`,
  // on an SGDbOps or SGBackup
  fail: `${ANNOTATION_PREFIX}fail`,
  timeout: `${ANNOTATION_PREFIX}timeout`,
  delayMs: `${ANNOTATION_PREFIX}delay-ms`,
} as const;

function annotation(obj: KubernetesObject | undefined, key: string): string | undefined {
  return obj?.metadata?.annotations?.[key];
}

/** A delay annotation: a non-negative integer of milliseconds; anything else is ignored. */
export function delayAnnotation(obj: KubernetesObject | undefined, key: string): number | undefined {
  const raw = annotation(obj, key)?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A failure annotation: its value is the failure message (an empty value gets a default one). */
export function failureAnnotation(obj: KubernetesObject | undefined, key: string): string | undefined {
  const raw = annotation(obj, key);
  if (raw === undefined) return undefined;
  return raw.trim() || `injected failure (${key})`;
}

export function flagAnnotation(obj: KubernetesObject | undefined, key: string): boolean {
  return annotation(obj, key)?.trim().toLowerCase() === 'true';
}

/** A comma list of SGDbOps kinds, or "*" for all of them. */
export function opListAnnotation(obj: KubernetesObject | undefined, key: string, op: string): boolean {
  const raw = annotation(obj, key);
  if (raw === undefined) return false;
  return raw
    .split(',')
    .map((s) => s.trim())
    .some((entry) => entry === '*' || entry === op);
}
