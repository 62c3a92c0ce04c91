// The StackGres side of SGBackup: Pending -> Running -> Completed (with sizes, version, path) or
// Failed. The Running -> done timer is derived from status.process.timing.start, so a restarted
// simulator completes at once a backup that ran past its time while it was down.
import { randomBytes, randomInt } from 'node:crypto';
import { Annotations, delayAnnotation, failureAnnotation, flagAnnotation } from './annotations.js';
import { nowIso } from './conditions.js';
import { claimOfCluster, majorOf, workKey, type Sim } from './context.js';
import { nameOf, namespaceOf } from './kube.js';
import type { Backup, BackupStatus } from './types.js';

export async function reconcileBackup(sim: Sim, namespace: string, name: string): Promise<void> {
  let backup = sim.backups.get(namespace, name);
  if (!backup) return;
  const phase = backup.status?.process?.status;
  if (phase === 'Completed' || phase === 'Failed') return;
  const clusterName = backup.spec.sgCluster;

  if (phase === undefined) {
    backup = await sim.backups.patchStatus(backup, { process: { status: 'Pending' } }, false);
  }
  if (backup.status?.process?.status === 'Pending') {
    const cluster = sim.clusters.get(namespace, clusterName);
    if (!cluster) {
      await fail(sim, backup, `SGCluster "${clusterName}" not found`);
      return;
    }
    const status: BackupStatus = {
      process: {
        status: 'Running',
        jobPod: `${clusterName}-backup-${randomBytes(3).toString('hex')}`,
        timing: { start: nowIso() },
      },
    };
    backup = await sim.backups.patchStatus(backup, status as Record<string, unknown>, false);
    sim.log.info({ namespace, sgBackup: name, sgCluster: clusterName }, 'SGBackup running');
  }

  const now = Date.now();
  const claim = claimOfCluster(sim, namespace, clusterName);
  const started = Date.parse(backup.status?.process?.timing?.start ?? '') || now;
  const delay =
    delayAnnotation(backup, Annotations.delayMs) ??
    delayAnnotation(claim, Annotations.backupDelayMs) ??
    sim.config.backupDelayMs;
  const timeoutSeconds = backup.spec.timeout;
  const timedOut = typeof timeoutSeconds === 'number' && timeoutSeconds > 0 && timeoutSeconds * 1000 < delay;
  const due = started + (timedOut ? timeoutSeconds * 1000 : delay);
  if (due > now) {
    sim.queue.addAfter(workKey('backup', namespace, name), due - now);
    return;
  }

  const cluster = sim.clusters.get(namespace, clusterName);
  const failure =
    failureAnnotation(backup, Annotations.fail) ??
    (flagAnnotation(claim, Annotations.failBackups)
      ? `backup failed (injected by ${Annotations.failBackups} on PostgreSQLInstance ${claim?.metadata?.name ?? ''})`
      : undefined) ??
    (timedOut ? `backup did not finish within its timeout of ${timeoutSeconds}s` : undefined) ??
    (cluster ? undefined : `SGCluster "${clusterName}" not found`);
  if (failure) {
    await fail(sim, backup, failure);
    return;
  }

  const version = cluster?.spec.postgres.version ?? '';
  const uncompressed = randomInt(64, 4096) * 1024 * 1024 + randomInt(0, 1024 * 1024);
  const compressed = Math.max(1, Math.floor(uncompressed * (0.2 + Math.random() * 0.5)));
  const end = nowIso();
  const status: BackupStatus = {
    backupPath: `sgbackups.stackgres.io/${namespace}/${clusterName}/${majorOf(version) ?? version}`,
    process: { status: 'Completed', timing: { start: backup.status?.process?.timing?.start, end, stored: end } },
    backupInformation: {
      postgresVersion: version,
      startWalFile: `00000001${randomInt(0, 0xff).toString(16).padStart(8, '0').toUpperCase()}${randomInt(0, 0xff).toString(16).padStart(8, '0').toUpperCase()}`,
      size: { uncompressed, compressed },
    },
    sgBackupConfig: { baseBackups: { compression: 'lz4' }, storage: { type: 's3Compatible' } },
  };
  await sim.backups.patchStatus(backup, status as Record<string, unknown>, false);
  sim.log.info({ namespace, sgBackup: name, sgCluster: clusterName, compressed, uncompressed }, 'SGBackup completed');
}

async function fail(sim: Sim, backup: Backup, failure: string): Promise<void> {
  const timing = backup.status?.process?.timing;
  await sim.backups.patchStatus(
    backup,
    { process: { status: 'Failed', failure, timing: { ...(timing ?? {}), end: nowIso() } } },
    false,
  );
  sim.log.info({ namespace: namespaceOf(backup), sgBackup: nameOf(backup), failure }, 'SGBackup failed');
}
