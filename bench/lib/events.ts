// Realistic event streams for the read-model benches: what an instance's workflow records, in
// the batches its flushes send (provisioning, backups with retention, restarts, settings changes,
// security upgrades), so projection and seeding see the real shapes and sizes.
import { defaultMaintenanceWindow, type InstanceEvent, type NewEvent, type ResolvedSpec, type Size } from '../../src/domain/index.js';

const VERSIONS = ['14.18', '15.13', '16.6', '16.9', '17.4', '17.5'];
const SIZES: Size[] = ['small', 'small', 'small', 'medium', 'medium', 'large'];

/** A deterministic pseudo-random number in [0, 1) from an integer. */
export function hash01(i: number): number {
  let x = (i ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

export interface InstanceSeed {
  tenant: string;
  name: string;
  instanceId: string;
  /** index used for deterministic choices */
  index: number;
}

/**
 * The batches one instance's workflow would project: provisioning, then `operations` day-2
 * operations (each a few events), in order. `at` advances one second per event from startMs.
 */
export function eventBatches(seed: InstanceSeed, operations: number, startMs: number): InstanceEvent[][] {
  const { tenant, name, instanceId, index } = seed;
  const size = SIZES[Math.floor(hash01(index) * SIZES.length)]!;
  const version = VERSIONS[Math.floor(hash01(index + 7) * VERSIONS.length)]!;
  const spec: ResolvedSpec = {
    name, engine: 'postgres', version, size, instances: 1, autoMinorUpgrades: hash01(index + 3) < 0.5, deletionProtection: hash01(index + 5) < 0.2,
    maintenanceWindow: defaultMaintenanceWindow(tenant, name),
    ...(hash01(index + 11) < 0.7 ? { backup: { schedule: '0 3 * * *', retention: 3 } } : {}),
  };
  let seq = 0;
  let op = 0;
  const actor = `tenant:${tenant.slice(0, 20)}-ci`;
  const stamp = (e: NewEvent): InstanceEvent => ({ ...e, seq: ++seq, at: new Date(startMs + seq * 1000).toISOString() });
  const by = (requestId: string) => ({ actor, requestId });
  const batches: InstanceEvent[][] = [];
  const provision = `${instanceId}-provision`;
  batches.push([stamp({ type: 'InstanceRequested', ...by(provision), data: { instanceId, tenant, spec } })]);
  batches.push([stamp({ type: 'ClaimApplied', ...by(provision), data: { namespace: `tenant-${tenant}`, claimName: name, size, version } })]);
  batches.push([
    stamp({
      type: 'InstanceReady', ...by(provision),
      data: { version, connection: { host: `${name}.tenant-${tenant}.svc`, port: 5432, database: 'postgres', user: 'postgres', secretName: `${name}-connection` } },
    }),
  ]);
  const backups: string[] = [];
  let patchLevel = 0;
  let protectedNow = spec.deletionProtection;
  for (let k = 0; k < operations; k++) {
    const requestId = `${instanceId.slice(0, 8)}-op-${++op}`;
    switch ((index + k) % 4) {
      case 0: {
        const backupName = `${name}-backup-${seq + 1}-${instanceId.slice(0, 4)}`;
        batches.push([stamp({ type: 'BackupRequested', ...by(requestId), data: { backupName, purpose: 'scheduled' } })]);
        batches.push([stamp({
          type: 'BackupCompleted', ...by(requestId),
          data: { backupName, purpose: 'scheduled', sizeBytes: 1_000_000_000 + index, compressedBytes: 300_000_000 + index, postgresVersion: version, completedAt: new Date(startMs + (seq + 1) * 1000).toISOString() },
        })]);
        backups.push(backupName);
        while (backups.length > 3) batches.push([stamp({ type: 'BackupDeleted', ...by(requestId), data: { backupName: backups.shift()!, cause: 'retention' } })]);
        break;
      }
      case 1: {
        const dbOpsName = `${name}-restart-${seq + 2}-${instanceId.slice(0, 4)}`;
        batches.push([stamp({ type: 'RestartRequested', ...by(requestId), data: {} }), stamp({ type: 'RestartStarted', ...by(requestId), data: { dbOpsName } })]);
        batches.push([stamp({ type: 'RestartCompleted', ...by(requestId), data: { dbOpsName } })]);
        break;
      }
      case 2:
        protectedNow = !protectedNow;
        batches.push([stamp({ type: 'SettingsChanged', ...by(requestId), data: { deletionProtection: protectedNow } })]);
        break;
      default: {
        batches.push([stamp({ type: 'UpgradeRequested', ...by(requestId), data: { kind: 'security', fromVersion: version, toVersion: version } })]);
        const dbOpsName = `${name}-security-${seq + 1}-${instanceId.slice(0, 4)}`;
        batches.push([stamp({ type: 'UpgradeStarted', ...by(requestId), data: { kind: 'security', dbOpsName } })]);
        batches.push([stamp({ type: 'UpgradeCompleted', ...by(requestId), data: { kind: 'security', dbOpsName, version, patchLevel: ++patchLevel } })]);
      }
    }
  }
  return batches;
}
