import type { LifecycleSettings } from '../messages.js';

const MINUTE = 60_000;

export const DEFAULT_SETTINGS: LifecycleSettings = {
  provisionTimeoutMs: 20 * MINUTE,
  pendingRestartTimeoutMs: 5 * MINUTE,
  operationTimeoutMs: 60 * MINUTE,
  backupTimeoutMs: 60 * MINUTE,
  deleteTimeoutMs: 15 * MINUTE,
  heartbeatTimeoutMs: 30_000,
};

export const resolveSettings = (overrides: Partial<LifecycleSettings> = {}): LifecycleSettings => ({ ...DEFAULT_SETTINGS, ...overrides });

/** ISO-8601 duration for SGDbOps spec.timeout. */
export const isoDuration = (ms: number): string => `PT${Math.max(1, Math.ceil(ms / 1000))}S`;
