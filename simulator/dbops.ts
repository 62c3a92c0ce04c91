// The StackGres side of SGDbOps: an operation starts (at runAt, when no other operation holds its
// cluster), runs for the op delay, then completes with its effect on the SGCluster or fails with
// none. Every timer is derived from status.opStarted and status.opRetries, so a restarted simulator
// finishes, at once, whatever ran past its time while it was down.
import { Annotations, delayAnnotation, failureAnnotation, flagAnnotation, opListAnnotation } from './annotations.js';
import { applyConditions, isTrue, nowIso, type ConditionUpdate } from './conditions.js';
import { claimOfCluster, majorOf, podsOf, workKey, type Sim } from './context.js';
import { keyOf, nameOf, namespaceOf } from './kube.js';
import type { Cluster, DbOps, DbOpsStatus, VersionUpgradeStatus } from './types.js';

const RUNNING: ConditionUpdate[] = [
  { type: 'Running', status: 'True', reason: 'OperationRunning' },
  { type: 'Completed', status: 'False', reason: 'OperationNotCompleted' },
  { type: 'Failed', status: 'False', reason: 'OperationNotFailed' },
];

const COMPLETED: ConditionUpdate[] = [
  { type: 'Running', status: 'False', reason: 'OperationNotRunning' },
  { type: 'Completed', status: 'True', reason: 'OperationCompleted' },
  { type: 'Failed', status: 'False', reason: 'OperationNotFailed' },
];

function failed(reason: 'OperationFailed' | 'OperationTimedOut', message: string): ConditionUpdate[] {
  return [
    { type: 'Running', status: 'False', reason: 'OperationNotRunning' },
    { type: 'Completed', status: 'False', reason: 'OperationNotCompleted' },
    { type: 'Failed', status: 'True', reason, message },
  ];
}

/** Operations that roll the pods, and so also apply a pending sizing change. */
const RESTARTING_OPS = new Set(['restart', 'securityUpgrade', 'minorVersionUpgrade', 'majorVersionUpgrade']);

export function isFinished(op: DbOps): boolean {
  return isTrue(op.status?.conditions, 'Completed') || isTrue(op.status?.conditions, 'Failed');
}

function isStarted(op: DbOps): boolean {
  return Boolean(op.status?.opStarted);
}

/** ISO 8601 duration (PnDTnHnMnS) in ms, or undefined. */
export function parseDuration(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (!m) return undefined;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Math.round(Number(s ?? 0) * 1000);
}

export async function reconcileDbOps(sim: Sim, namespace: string, name: string): Promise<void> {
  let op = sim.dbops.get(namespace, name);
  if (!op) return;
  const clusterKey = keyOf(namespace, op.spec.sgCluster);
  if (isFinished(op)) {
    release(sim, namespace, op.spec.sgCluster, name);
    return;
  }
  const now = Date.now();

  if (!isStarted(op)) {
    const runAt = op.spec.runAt ? Date.parse(op.spec.runAt) : Number.NaN;
    if (!Number.isNaN(runAt) && runAt > now) {
      sim.queue.addAfter(workKey('dbops', namespace, name), runAt - now);
      return;
    }
    if (!acquire(sim, op)) {
      sim.log.debug({ namespace, sgDbOps: name, holder: sim.opLocks.get(clusterKey) }, 'SGDbOps waits for the cluster');
      return;
    }
    op = await start(sim, op);
    if (isFinished(op)) {
      release(sim, namespace, op.spec.sgCluster, name);
      return;
    }
  } else {
    sim.opLocks.set(clusterKey, name);
  }

  const claim = claimOfCluster(sim, namespace, op.spec.sgCluster);
  const started = Date.parse(op.status?.opStarted ?? '') || now;
  const retries = op.status?.opRetries ?? 0;
  const delay =
    delayAnnotation(op, Annotations.delayMs) ?? delayAnnotation(claim, Annotations.opDelayMs) ?? sim.config.opDelayMs;
  let due = started + delay * (retries + 1);
  let timeout: string | undefined;
  if (flagAnnotation(op, Annotations.timeout) || opListAnnotation(claim, Annotations.timeoutOps, op.spec.op)) {
    timeout = `operation timed out (injected by ${Annotations.timeout} or ${Annotations.timeoutOps})`;
  }
  const limit = parseDuration(op.spec.timeout);
  if (limit !== undefined && limit > 0 && started + limit < due) {
    due = started + limit;
    timeout = `operation did not finish within its timeout ${op.spec.timeout}`;
  }
  if (due > now) {
    sim.queue.addAfter(workKey('dbops', namespace, name), due - now);
    return;
  }

  if (timeout) {
    await finishFailed(sim, op, 'OperationTimedOut', timeout);
    return;
  }
  const cluster = sim.clusters.get(namespace, op.spec.sgCluster);
  const failure =
    failureAnnotation(op, Annotations.fail) ??
    (opListAnnotation(claim, Annotations.failOps, op.spec.op)
      ? `${op.spec.op} failed (injected by ${Annotations.failOps} on PostgreSQLInstance ${claim?.metadata?.name ?? ''})`
      : undefined) ??
    (cluster ? checkOp(op, cluster) : `SGCluster "${op.spec.sgCluster}" not found`);
  if (failure) {
    if (retries < (op.spec.maxRetries ?? 0)) {
      await sim.dbops.patchStatus(op, { opRetries: retries + 1 }, false);
      sim.log.info({ namespace, sgDbOps: name, op: op.spec.op, failure, retry: retries + 1 }, 'SGDbOps attempt failed; retrying');
      sim.queue.addAfter(workKey('dbops', namespace, name), delay);
      return;
    }
    await finishFailed(sim, op, 'OperationFailed', failure);
    return;
  }
  await applyEffect(sim, op, cluster as Cluster);
  await finishCompleted(sim, op);
}

/** Takes the cluster's operation lock for op, if free and op is next in line. */
function acquire(sim: Sim, op: DbOps): boolean {
  const namespace = namespaceOf(op);
  const name = nameOf(op);
  const clusterKey = keyOf(namespace, op.spec.sgCluster);
  const holder = sim.opLocks.get(clusterKey);
  if (holder !== undefined && holder !== name) {
    const held = sim.dbops.get(namespace, holder);
    if (held && !isFinished(held)) return false;
    sim.opLocks.delete(clusterKey);
  }
  const now = Date.now();
  const sameCluster = sim.dbops
    .list(namespace)
    .filter((o) => o.spec.sgCluster === op.spec.sgCluster && nameOf(o) !== name)
    .map((o) => sim.dbops.get(namespace, nameOf(o)) ?? o)
    .filter((o) => !isFinished(o));
  if (sameCluster.some(isStarted)) return false;
  // First come, first served among the operations that are due.
  const due = (o: DbOps): boolean => !o.spec.runAt || !(Date.parse(o.spec.runAt) > now);
  const first = sameCluster.filter(due).find((o) => before(o, op));
  if (first) {
    sim.queue.add(workKey('dbops', namespace, nameOf(first)));
    return false;
  }
  sim.opLocks.set(clusterKey, name);
  return true;
}

function before(a: DbOps, b: DbOps): boolean {
  const ta = a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0;
  const tb = b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0;
  return ta !== tb ? ta < tb : nameOf(a) < nameOf(b);
}

/** Frees the cluster's lock if name holds it, and wakes the operations waiting for it. */
export function release(sim: Sim, namespace: string, clusterName: string, name: string): void {
  const clusterKey = keyOf(namespace, clusterName);
  if (sim.opLocks.get(clusterKey) !== name) return;
  sim.opLocks.delete(clusterKey);
  for (const o of sim.dbops.list(namespace)) {
    if (o.spec.sgCluster === clusterName && nameOf(o) !== name && !isStarted(o)) {
      sim.queue.add(workKey('dbops', namespace, nameOf(o)));
    }
  }
}

function target(op: DbOps): string | undefined {
  if (op.spec.op === 'minorVersionUpgrade') return op.spec.minorVersionUpgrade?.postgresVersion;
  if (op.spec.op === 'majorVersionUpgrade') return op.spec.majorVersionUpgrade?.postgresVersion;
  return undefined;
}

/** Why StackGres would reject op on cluster, or undefined. */
function checkOp(op: DbOps, cluster: Cluster): string | undefined {
  const from = cluster.spec.postgres.version;
  const to = target(op);
  if (op.spec.op === 'minorVersionUpgrade') {
    if (!to) return 'spec.minorVersionUpgrade.postgresVersion is missing';
    if (majorOf(to) !== majorOf(from)) return `postgresVersion ${to} is not a minor version of the cluster's ${from}`;
  }
  if (op.spec.op === 'majorVersionUpgrade') {
    if (!to) return 'spec.majorVersionUpgrade.postgresVersion is missing';
    if (!(Number(majorOf(to)) > Number(majorOf(from)))) {
      return `postgresVersion ${to} is not a higher major version than the cluster's ${from}`;
    }
  }
  return undefined;
}

async function start(sim: Sim, op: DbOps): Promise<DbOps> {
  const namespace = namespaceOf(op);
  const name = nameOf(op);
  const cluster = sim.clusters.get(namespace, op.spec.sgCluster);
  const status: DbOpsStatus = { opStarted: nowIso(), opRetries: 0 };
  if (!cluster) {
    const message = `SGCluster "${op.spec.sgCluster}" not found`;
    status.conditions = applyConditions(op.status?.conditions, failed('OperationFailed', message)).conditions;
    Object.assign(status, opFailureBlock(op, message));
    sim.log.info({ namespace, sgDbOps: name, op: op.spec.op, failure: message }, 'SGDbOps failed');
    return sim.dbops.patchStatus(op, status as Record<string, unknown>, false);
  }
  status.conditions = applyConditions(op.status?.conditions, RUNNING).conditions;
  if (op.spec.op === 'restart') status.restart = { pendingInstances: podsOf(cluster), restartedInstances: [] };
  const upgrade = versionBlock(op, { sourcePostgresVersion: cluster.spec.postgres.version, phase: 'Running' });
  if (upgrade) Object.assign(status, upgrade);
  sim.log.info({ namespace, sgDbOps: name, op: op.spec.op, sgCluster: op.spec.sgCluster }, 'SGDbOps running');
  return sim.dbops.patchStatus(op, status as Record<string, unknown>, false);
}

/** The per-op status block of a version upgrade, or undefined for other ops. */
function versionBlock(op: DbOps, fields: VersionUpgradeStatus): Partial<DbOpsStatus> | undefined {
  const to = target(op);
  const block: VersionUpgradeStatus = { ...fields, ...(to ? { targetPostgresVersion: to } : {}) };
  if (op.spec.op === 'minorVersionUpgrade') return { minorVersionUpgrade: block };
  if (op.spec.op === 'majorVersionUpgrade') return { majorVersionUpgrade: block };
  return undefined;
}

function opFailureBlock(op: DbOps, failure: string): Partial<DbOpsStatus> {
  switch (op.spec.op) {
    case 'restart':
      return { restart: { failure } };
    case 'securityUpgrade':
      return { securityUpgrade: { failure } };
    case 'minorVersionUpgrade':
    case 'majorVersionUpgrade':
      return versionBlock(op, { phase: 'Failed', failure }) ?? {};
    default:
      return {};
  }
}

/** What a completed op does to its cluster. */
async function applyEffect(sim: Sim, op: DbOps, cluster: Cluster): Promise<void> {
  const now = nowIso();
  const to = target(op);
  if (to && cluster.spec.postgres.version !== to) {
    cluster = await sim.clusters.patch(cluster, { spec: { postgres: { version: to } } });
  }
  const status: Record<string, unknown> = {};
  let changed = false;
  if (RESTARTING_OPS.has(op.spec.op)) {
    const result = applyConditions(cluster.status?.conditions, [
      { type: 'PendingRestart', status: 'False', reason: 'FalsePendingRestart' },
    ]);
    if (result.changed) {
      status.conditions = result.conditions;
      changed = true;
    }
  }
  if (op.spec.op === 'securityUpgrade') {
    status.securityUpgrade = { patchLevel: (cluster.status?.securityUpgrade?.patchLevel ?? 0) + 1, appliedAt: now };
    changed = true;
  }
  if (changed) await sim.clusters.patchStatus(cluster, status);
}

async function finishCompleted(sim: Sim, op: DbOps): Promise<void> {
  const namespace = namespaceOf(op);
  const name = nameOf(op);
  const status: Record<string, unknown> = {
    conditions: applyConditions(op.status?.conditions, COMPLETED).conditions,
  };
  if (op.spec.op === 'restart') {
    const pods = op.status?.restart?.pendingInstances ?? [];
    status.restart = { pendingInstances: [], restartedInstances: pods };
  }
  Object.assign(status, versionBlock(op, { ...versionStatus(op), phase: 'Completed' }) ?? {});
  await sim.dbops.patchStatus(op, status, false);
  sim.log.info({ namespace, sgDbOps: name, op: op.spec.op, sgCluster: op.spec.sgCluster }, 'SGDbOps completed');
  release(sim, namespace, op.spec.sgCluster, name);
}

async function finishFailed(
  sim: Sim,
  op: DbOps,
  reason: 'OperationFailed' | 'OperationTimedOut',
  message: string,
): Promise<void> {
  const namespace = namespaceOf(op);
  const name = nameOf(op);
  const status: Record<string, unknown> = {
    conditions: applyConditions(op.status?.conditions, failed(reason, message)).conditions,
  };
  const block = opFailureBlock(op, message);
  if (block.minorVersionUpgrade) block.minorVersionUpgrade = { ...versionStatus(op), ...block.minorVersionUpgrade };
  if (block.majorVersionUpgrade) block.majorVersionUpgrade = { ...versionStatus(op), ...block.majorVersionUpgrade };
  Object.assign(status, block);
  await sim.dbops.patchStatus(op, status, false);
  sim.log.info({ namespace, sgDbOps: name, op: op.spec.op, reason, failure: message }, 'SGDbOps failed');
  release(sim, namespace, op.spec.sgCluster, name);
}

function versionStatus(op: DbOps): VersionUpgradeStatus {
  if (op.spec.op === 'minorVersionUpgrade') return op.status?.minorVersionUpgrade ?? {};
  if (op.spec.op === 'majorVersionUpgrade') return op.status?.majorVersionUpgrade ?? {};
  return {};
}
