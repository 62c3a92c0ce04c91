// The Crossplane side: a PostgreSQLInstance claim is rendered (by a fixed composition table) into an
// SGCluster of the same name, reported Synced/Ready, and given a connection Secret. Level-based:
// every pass compares what is with what should be, so a missed event or a restart costs nothing.
import { randomInt } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { Annotations, delayAnnotation, failureAnnotation } from './annotations.js';
import { applyConditions, conditionSince, findCondition, isTrue, type ConditionUpdate } from './conditions.js';
import { CLAIM_LABEL, majorOf, workKey, type Sim } from './context.js';
import type { Claim, Cluster, ClusterSpec, Size } from './types.js';

/** Stands in for Crossplane's claim finalizer: the claim stays until its resources are gone. */
export const CLAIM_FINALIZER = 'claimflow.io/simulator';

/** The composition: what each size renders to. */
export const COMPOSITION: Record<Size, { sgInstanceProfile: string; volumeSize: string }> = {
  small: { sgInstanceProfile: 'size-small', volumeSize: '10Gi' },
  medium: { sgInstanceProfile: 'size-medium', volumeSize: '50Gi' },
  large: { sgInstanceProfile: 'size-large', volumeSize: '200Gi' },
};

/** SGObjectStorage the composition points scheduled backups at. */
export const OBJECT_STORAGE = 'claimflow-backups';

const SYNCED_OK: ConditionUpdate = { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' };

export async function reconcileClaim(sim: Sim, namespace: string, name: string): Promise<void> {
  let claim = sim.claims.get(namespace, name);
  if (!claim) return;
  if (claim.metadata?.deletionTimestamp) {
    await finalizeClaim(sim, claim);
    return;
  }
  claim = await ensureFinalizer(sim, claim);

  const injected = failureAnnotation(claim, Annotations.failProvisioning) ?? invalidSpec(claim);
  if (injected !== undefined) {
    await reportError(sim, claim, injected);
    return;
  }

  let cluster = sim.clusters.get(namespace, name);
  if (!cluster) {
    const restoreError = checkRestore(sim, claim);
    if (restoreError) {
      await reportError(sim, claim, restoreError);
      return;
    }
    cluster = await sim.clusters.create(namespace, renderCluster(claim));
    sim.log.info({ namespace, claim: name, sgCluster: name, size: claim.spec.parameters.size }, 'created SGCluster');
  } else {
    cluster = await syncCluster(sim, claim, cluster);
  }

  if (!isTrue(cluster.status?.conditions, 'Bootstrapped')) {
    const now = Date.now();
    const delay = delayAnnotation(claim, Annotations.readyDelayMs) ?? sim.config.readyDelayMs;
    const ready = findCondition(claim.status?.conditions, 'Ready');
    const since = ready?.status === 'False' && ready.reason === 'Creating' ? (conditionSince(ready) ?? now) : now;
    const remaining = since + delay - now;
    if (remaining > 0) {
      await writeClaimStatus(sim, claim, [SYNCED_OK, { type: 'Ready', status: 'False', reason: 'Creating' }]);
      sim.queue.addAfter(workKey('claim', namespace, name), remaining);
      return;
    }
    await ensureSecret(sim, claim);
    const { conditions } = applyConditions(cluster.status?.conditions, [
      { type: 'Bootstrapped', status: 'True', reason: 'ClusterBootstrapped' },
    ]);
    cluster = await sim.clusters.patchStatus(cluster, { conditions });
  } else if (!isTrue(claim.status?.conditions, 'Ready')) {
    await ensureSecret(sim, claim);
  }

  const wasReady = isTrue(claim.status?.conditions, 'Ready');
  await writeClaimStatus(sim, claim, [SYNCED_OK, { type: 'Ready', status: 'True', reason: 'Available' }], {
    clusterName: name,
  });
  if (!wasReady) sim.log.info({ namespace, claim: name }, 'claim ready');
}

/** What the composition cannot render (the CRD schema should have rejected it already). */
function invalidSpec(claim: Claim): string | undefined {
  const parameters = claim.spec?.parameters;
  if (!parameters || !Object.hasOwn(COMPOSITION, parameters.size)) {
    return `cannot compose: unknown size ${JSON.stringify(parameters?.size)} (want small, medium or large)`;
  }
  if (!parameters.postgres?.version) return 'cannot compose: spec.parameters.postgres.version is missing';
  if (!claim.spec.writeConnectionSecretToRef?.name) return 'cannot compose: spec.writeConnectionSecretToRef.name is missing';
  return undefined;
}

/** The SGCluster a claim renders to. */
export function renderCluster(claim: Claim): Cluster {
  const name = claim.metadata?.name ?? '';
  const { size, instances, postgres, backup, restore } = claim.spec.parameters;
  const spec: ClusterSpec = {
    instances: instances ?? 1,
    sgInstanceProfile: COMPOSITION[size].sgInstanceProfile,
    postgres: { version: postgres.version },
    pods: { persistentVolume: { size: COMPOSITION[size].volumeSize } },
  };
  if (backup?.schedule || backup?.retention) {
    spec.configurations = {
      backups: [
        {
          ...(backup.schedule ? { cronSchedule: backup.schedule } : {}),
          ...(backup.retention ? { retention: backup.retention } : {}),
          sgObjectStorage: OBJECT_STORAGE,
        },
      ],
    };
  }
  if (restore?.fromBackup) {
    spec.initialData = {
      restore: {
        fromBackup: {
          name: restore.fromBackup,
          ...(restore.pointInTime ? { pointInTimeRecovery: { restoreToTimestamp: restore.pointInTime } } : {}),
        },
      },
    };
  }
  return {
    apiVersion: 'stackgres.io/v1',
    kind: 'SGCluster',
    metadata: {
      name,
      namespace: claim.metadata?.namespace,
      ...(name.length <= 63 ? { labels: { [CLAIM_LABEL]: name } } : {}),
    },
    spec,
  };
}

/** Why the claim's restore cannot start, or undefined. */
function checkRestore(sim: Sim, claim: Claim): string | undefined {
  const restore = claim.spec.parameters.restore;
  if (!restore?.fromBackup) return undefined;
  const namespace = claim.metadata?.namespace ?? '';
  const backup = sim.backups.get(namespace, restore.fromBackup);
  if (!backup) return `cannot restore: SGBackup "${restore.fromBackup}" not found in namespace "${namespace}"`;
  const phase = backup.status?.process?.status;
  if (phase !== 'Completed') {
    return `cannot restore: SGBackup "${restore.fromBackup}" is ${phase ?? 'not started'}, not Completed`;
  }
  const backupVersion = backup.status?.backupInformation?.postgresVersion;
  const wanted = claim.spec.parameters.postgres.version;
  if (backupVersion && majorOf(backupVersion) !== majorOf(wanted)) {
    return `cannot restore: SGBackup "${restore.fromBackup}" holds PostgreSQL ${backupVersion}, the claim asks for ${wanted} (major versions differ)`;
  }
  const end = backup.status?.process?.timing?.end;
  if (restore.pointInTime && end && Date.parse(restore.pointInTime) < Date.parse(end)) {
    return `cannot restore: pointInTime ${restore.pointInTime} is before the end of SGBackup "${restore.fromBackup}" (${end})`;
  }
  return undefined;
}

/** Brings the SGCluster's sizing and instance count in line with the claim. */
async function syncCluster(sim: Sim, claim: Claim, cluster: Cluster): Promise<Cluster> {
  const { size } = claim.spec.parameters;
  const instances = claim.spec.parameters.instances ?? 1;
  const want = COMPOSITION[size];
  const specPatch: Record<string, unknown> = {};
  const resized =
    cluster.spec.sgInstanceProfile !== want.sgInstanceProfile ||
    cluster.spec.pods?.persistentVolume?.size !== want.volumeSize;
  if (resized) {
    specPatch.sgInstanceProfile = want.sgInstanceProfile;
    specPatch.pods = { persistentVolume: { size: want.volumeSize } };
  }
  if (cluster.spec.instances !== instances) specPatch.instances = instances;
  if (Object.keys(specPatch).length === 0) return cluster;

  const namespace = cluster.metadata?.namespace;
  // StackGres applies a new profile only on restart. Status first: if the spec write is lost, the
  // next pass finds the spec still old and repeats both.
  if (resized && isTrue(cluster.status?.conditions, 'Bootstrapped')) {
    const { conditions, changed } = applyConditions(cluster.status?.conditions, [
      {
        type: 'PendingRestart',
        status: 'True',
        reason: 'SizingChanged',
        message: `sgInstanceProfile ${want.sgInstanceProfile} and volume ${want.volumeSize} apply on the next restart`,
      },
    ]);
    if (changed) cluster = await sim.clusters.patchStatus(cluster, { conditions });
  }
  cluster = await sim.clusters.patch(cluster, { spec: specPatch });
  sim.log.info({ namespace, sgCluster: cluster.metadata?.name, change: specPatch }, 'updated SGCluster from claim');
  return cluster;
}

async function ensureFinalizer(sim: Sim, claim: Claim): Promise<Claim> {
  const finalizers = claim.metadata?.finalizers ?? [];
  if (finalizers.includes(CLAIM_FINALIZER)) return claim;
  return sim.claims.patch(claim, { metadata: { finalizers: [...finalizers, CLAIM_FINALIZER] } });
}

async function reportError(sim: Sim, claim: Claim, message: string): Promise<void> {
  const before = findCondition(claim.status?.conditions, 'Ready');
  await writeClaimStatus(sim, claim, [
    { type: 'Synced', status: 'False', reason: 'ReconcileError', message },
    { type: 'Ready', status: 'False', reason: 'ReconcileError', message },
  ]);
  if (before?.reason !== 'ReconcileError' || before.message !== message) {
    sim.log.info({ namespace: claim.metadata?.namespace, claim: claim.metadata?.name, message }, 'claim cannot be provisioned');
  }
}

async function writeClaimStatus(
  sim: Sim,
  claim: Claim,
  updates: ConditionUpdate[],
  extra: { clusterName?: string } = {},
): Promise<Claim> {
  const generation = claim.metadata?.generation;
  const { conditions, changed } = applyConditions(
    claim.status?.conditions,
    updates.map((u) => ({ ...u, observedGeneration: generation })),
  );
  const stale =
    changed ||
    claim.status?.observedGeneration !== generation ||
    (extra.clusterName !== undefined && claim.status?.clusterName !== extra.clusterName);
  if (!stale) return claim;
  // Only this process writes claim status, always from the newest claim it has seen or written.
  return sim.claims.patchStatus(claim, { conditions, observedGeneration: generation, ...extra }, false);
}

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomPassword(length = 24): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

/** Writes the connection Secret unless it exists (an existing one keeps its password). */
async function ensureSecret(sim: Sim, claim: Claim): Promise<void> {
  const namespace = claim.metadata?.namespace ?? '';
  const name = claim.metadata?.name ?? '';
  const secretName = claim.spec.writeConnectionSecretToRef.name;
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace,
      ...(name.length <= 63 ? { labels: { [CLAIM_LABEL]: name } } : {}),
    },
    type: 'connection.crossplane.io/v1alpha1',
    stringData: {
      host: `${name}.${namespace}.svc`,
      port: '5432',
      database: 'postgres',
      username: 'postgres',
      password: randomPassword(),
    },
  };
  const created = await sim.secrets.createIfAbsent(namespace, secret);
  if (created) sim.log.info({ namespace, claim: name, secret: secretName }, 'wrote connection secret');
}

/** Claim being deleted: delete what it rendered, then let it go. Backups and SGDbOps are kept. */
async function finalizeClaim(sim: Sim, claim: Claim): Promise<void> {
  const finalizers = claim.metadata?.finalizers ?? [];
  if (!finalizers.includes(CLAIM_FINALIZER)) return;
  const namespace = claim.metadata?.namespace ?? '';
  const name = claim.metadata?.name ?? '';

  claim = await writeClaimStatus(sim, claim, [{ type: 'Ready', status: 'False', reason: 'Deleting' }]);

  const cluster = sim.clusters.get(namespace, name);
  if (cluster && (cluster.metadata?.labels?.[CLAIM_LABEL] ?? name) === name) {
    await sim.clusters.delete(namespace, name);
    sim.log.info({ namespace, claim: name, sgCluster: name }, 'deleted SGCluster');
  }
  const secretName = claim.spec.writeConnectionSecretToRef?.name;
  if (secretName) {
    const secret = await sim.secrets.read(namespace, secretName);
    const label = secret?.metadata?.labels?.[CLAIM_LABEL];
    if (secret && (label === name || (label === undefined && name.length > 63))) {
      await sim.secrets.delete(namespace, secretName);
    }
  }
  await sim.claims.patch(claim, { metadata: { finalizers: finalizers.filter((f) => f !== CLAIM_FINALIZER) } });
  sim.log.info({ namespace, claim: name }, 'released claim');
}

/** SGCluster made for a claim that no longer exists (deleted while the simulator was down). */
export async function collectOrphanCluster(sim: Sim, namespace: string, name: string): Promise<void> {
  const cluster = sim.clusters.get(namespace, name);
  const claimName = cluster?.metadata?.labels?.[CLAIM_LABEL];
  if (!cluster || !claimName || cluster.metadata?.deletionTimestamp) return;
  if (sim.claims.get(namespace, claimName)) return;
  await sim.clusters.delete(namespace, name);
  sim.log.info({ namespace, sgCluster: name, claim: claimName }, 'deleted SGCluster of a claim that is gone');
}
