import fc from 'fast-check';
import { defaultMaintenanceWindow, type InstanceEvent, type NewEvent, type ResolvedSpec } from '../../../src/domain/index.js';

// Generates plausible instance histories: provisioning, then operations that each succeed or
// fail, as the workflow would record them. Used by the reducer's property tests.

export const storySpec: ResolvedSpec = {
  name: 'orders', engine: 'postgres', version: '15.10', size: 'small', instances: 1, autoMinorUpgrades: false,
  deletionProtection: false, maintenanceWindow: defaultMaintenanceWindow('acme', 'orders'),
};

type Step = { kind: 'scale' | 'restart' | 'minor' | 'major' | 'security' | 'backup' | 'delete-backup' | 'settings'; ok: boolean };
const step = fc.record({
  kind: fc.constantFrom<Step['kind']>('scale', 'restart', 'minor', 'major', 'security', 'backup', 'delete-backup', 'settings'),
  ok: fc.boolean(),
});

function expand(steps: Step[], provisionOk: boolean, deprovision: boolean): NewEvent[] {
  const events: NewEvent[] = [];
  let op = 0;
  let version = storySpec.version;
  const backups: string[] = [];
  const sizes = ['small', 'medium', 'large'] as const;
  const push = (event: Omit<NewEvent, 'actor' | 'requestId'> & { data: unknown }, requestId: string) =>
    events.push({ actor: 'tester', requestId, ...event } as NewEvent);
  push({ type: 'InstanceRequested', data: { instanceId: 'abcd1234', tenant: 'acme', spec: storySpec } }, 'req-0');
  push({ type: 'ClaimApplied', data: { namespace: 'tenant-acme', claimName: 'orders', size: 'small', version } }, 'req-0');
  if (!provisionOk) {
    push({ type: 'ProvisioningFailed', data: { conditionReason: 'ReconcileError', message: 'boom' } }, 'req-0');
    return events;
  }
  push({ type: 'InstanceReady', data: { version, connection: { host: 'h', port: 5432, database: 'postgres', user: 'postgres', secretName: 's' } } }, 'req-0');
  for (const { kind, ok } of steps) {
    const id = `req-${++op}`;
    const fail = (operation: 'scale' | 'restart') => push({ type: 'OperationFailed', data: { operation, stackgresReason: 'OperationFailed', message: 'x' } }, id);
    switch (kind) {
      case 'scale': {
        const toSize = sizes[op % 3]!;
        push({ type: 'ScaleRequested', data: { fromSize: 'small', toSize, applyAt: 'now' } }, id);
        push({ type: 'RestartStarted', data: { dbOpsName: `r${op}` } }, id);
        if (ok) {
          push({ type: 'RestartCompleted', data: { dbOpsName: `r${op}` } }, id);
          push({ type: 'ScaleCompleted', data: { size: toSize } }, id);
        } else fail('scale');
        break;
      }
      case 'restart':
        push({ type: 'RestartRequested', data: {} }, id);
        push({ type: 'RestartStarted', data: { dbOpsName: `r${op}` } }, id);
        if (ok) push({ type: 'RestartCompleted', data: { dbOpsName: `r${op}` } }, id);
        else fail('restart');
        break;
      case 'minor':
      case 'major':
      case 'security': {
        const upgradeKind = kind;
        const toVersion = kind === 'minor' ? version.replace(/\.\d+$/, '.99') : kind === 'major' ? `${Number(version.split('.')[0]) + 1}.1` : version;
        push({ type: 'UpgradeRequested', data: { kind: upgradeKind, fromVersion: version, toVersion } }, id);
        push({ type: 'UpgradeStarted', data: { kind: upgradeKind, dbOpsName: `u${op}` } }, id);
        if (ok) {
          push({ type: 'UpgradeCompleted', data: { kind: upgradeKind, dbOpsName: `u${op}`, version: toVersion, ...(kind === 'security' ? { patchLevel: op } : {}) } }, id);
          version = toVersion;
        } else push({ type: 'UpgradeFailed', data: { kind: upgradeKind, stackgresReason: 'OperationFailed', message: 'x' } }, id);
        break;
      }
      case 'backup':
        push({ type: 'BackupRequested', data: { backupName: `b${op}`, purpose: 'on-demand' } }, id);
        backups.push(`b${op}`);
        if (ok) push({ type: 'BackupCompleted', data: { backupName: `b${op}`, purpose: 'on-demand', sizeBytes: 10, compressedBytes: 5, postgresVersion: version, completedAt: 't' } }, id);
        else push({ type: 'BackupFailed', data: { backupName: `b${op}`, purpose: 'on-demand', stackgresReason: 'BackupFailed', message: 'x' } }, id);
        break;
      case 'delete-backup': {
        // Deleting needs a backup to delete (the workflow refuses the command otherwise).
        const backupName = backups.shift();
        if (!backupName) break;
        push({ type: 'BackupDeletionRequested', data: { backupName } }, id);
        push({ type: 'BackupDeleted', data: { backupName, cause: 'requested' } }, id);
        break;
      }
      case 'settings':
        push({ type: 'SettingsChanged', data: { deletionProtection: ok } }, id);
        break;
    }
  }
  if (deprovision) {
    const id = `req-${++op}`;
    push({ type: 'DeprovisionRequested', data: { finalBackup: false } }, id);
    push({ type: 'ClaimDeleted', data: { claimName: 'orders' } }, id);
    push({ type: 'InstanceDeleted', data: {} }, id);
  }
  return events;
}

/** Stamps seq and a strictly increasing time, as the workflow does. */
export const stamp = (events: NewEvent[]): InstanceEvent[] =>
  events.map((event, index) => ({ ...event, seq: index + 1, at: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString() }));

export const story = fc
  .tuple(fc.array(step, { maxLength: 25 }), fc.boolean(), fc.boolean())
  .map(([steps, provisionOk, deprovision]) => stamp(expand(steps, provisionOk || steps.length === 0 ? true : provisionOk, deprovision)));
