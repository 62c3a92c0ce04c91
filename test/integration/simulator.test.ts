// The cluster simulator (simulator/) that the harness runs against its kube-apiserver, with delays of
// a few hundred ms: it plays Crossplane and StackGres for claims, SGDbOps and SGBackups, and its
// failure-injection annotations produce the failures claimflow has to handle. Also checks the CRDs
// in deploy/crds reject what StackGres would. Each test uses a namespace of its own; waits poll
// with a deadline (no timing assertions).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Backup, Claim, Cluster, Condition, DbOps } from '../../simulator/types.js';
import { loadKubeConfig, uniqueName } from '../support/env.js';

type Obj = KubernetesObject & { status?: object };

// The type parameter only tells what get() and friends return.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
interface Kind<T extends Obj> {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

const CLAIM: Kind<Claim> = { group: 'db.claimflow.io', version: 'v1alpha1', plural: 'postgresqlinstances', kind: 'PostgreSQLInstance' };
const CLUSTER: Kind<Cluster> = { group: 'stackgres.io', version: 'v1', plural: 'sgclusters', kind: 'SGCluster' };
const DBOPS: Kind<DbOps> = { group: 'stackgres.io', version: 'v1', plural: 'sgdbops', kind: 'SGDbOps' };
const BACKUP: Kind<Backup> = { group: 'stackgres.io', version: 'v1', plural: 'sgbackups', kind: 'SGBackup' };

const api = <T extends Obj>(kind: Kind<T>) => ({ group: kind.group, version: kind.version, plural: kind.plural });

const WAIT_MS = 30_000;

const kc = loadKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function code(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

async function newNamespace(): Promise<string> {
  const name = uniqueName('sim');
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

async function get<T extends Obj>(kind: Kind<T>, namespace: string, name: string): Promise<T | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...api(kind), namespace, name })) as T;
  } catch (err) {
    if (code(err) === 404) return undefined;
    throw err;
  }
}

async function create<T extends Obj>(
  kind: Kind<T>,
  namespace: string,
  name: string,
  spec: unknown,
  annotations?: Record<string, string>,
): Promise<T> {
  const body = {
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec,
  };
  return (await custom.createNamespacedCustomObject({ ...api(kind), namespace, body })) as T;
}

/** A JSON merge patch from another field manager than the simulator's (as tests and users do). */
async function patch<T extends Obj>(kind: Kind<T>, namespace: string, name: string, body: unknown): Promise<T> {
  return (await custom.patchNamespacedCustomObject(
    { ...api(kind), namespace, name, body, fieldManager: 'simulator-test' },
    mergePatch,
  )) as T;
}

function condition(obj: Obj | undefined, type: string): Condition | undefined {
  return (obj?.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);
}

function isTrue(obj: Obj | undefined, type: string): boolean {
  return condition(obj, type)?.status === 'True';
}

/** Polls fn every 100 ms until it returns something truthy; fails with the last object seen. */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await fn();
    if (value) return value;
    last = value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for an object to satisfy pred; on timeout, shows the object as it last was. */
async function waitForObject<T extends Obj>(
  kind: Kind<T>,
  namespace: string,
  name: string,
  what: string,
  pred: (o: T) => boolean,
): Promise<T> {
  let last: T | undefined;
  try {
    return await waitFor(what, async () => {
      last = await get(kind, namespace, name);
      return last && pred(last) ? last : undefined;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${kind.kind} ${namespace}/${name} is ${JSON.stringify(last ?? null)}`);
  }
}

function claimSpec(overrides: Record<string, unknown> = {}, secret = 'db-conn'): unknown {
  return {
    parameters: { size: 'small', instances: 1, postgres: { version: '16.4' }, ...overrides },
    writeConnectionSecretToRef: { name: secret },
  };
}

async function readyClaim(namespace: string, name: string, overrides: Record<string, unknown> = {}): Promise<Claim> {
  await create(CLAIM, namespace, name, claimSpec(overrides, `${name}-conn`));
  return waitForObject(CLAIM, namespace, name, 'claim Ready', (o) => isTrue(o, 'Ready'));
}

const finished = (o: DbOps) => isTrue(o, 'Completed') || isTrue(o, 'Failed');

async function runOp(namespace: string, name: string, spec: unknown, annotations?: Record<string, string>): Promise<DbOps> {
  await create(DBOPS, namespace, name, spec, annotations);
  return waitForObject(DBOPS, namespace, name, 'SGDbOps finished', finished);
}

test('a claim becomes Ready, with its SGCluster and connection Secret', async () => {
  const ns = await newNamespace();
  await create(CLAIM, ns, 'orders', claimSpec({ size: 'medium', instances: 2, backup: { schedule: '0 3 * * *', retention: 7 } }, 'orders-conn'));

  const synced = await waitForObject(CLAIM, ns, 'orders', 'claim Synced', (o) => isTrue(o, 'Synced'));
  assert.ok(synced.metadata?.finalizers?.includes('claimflow.io/simulator'));

  const claim = await waitForObject(CLAIM, ns, 'orders', 'claim Ready', (o) => isTrue(o, 'Ready'));
  assert.equal(condition(claim, 'Ready')?.reason, 'Available');
  assert.equal(condition(claim, 'Synced')?.status, 'True');
  assert.equal(claim.status?.clusterName, 'orders');
  assert.equal(claim.status?.observedGeneration, claim.metadata?.generation);

  const cluster = await get(CLUSTER, ns, 'orders');
  assert.ok(cluster);
  assert.equal(cluster.metadata?.labels?.['claimflow.io/claim'], 'orders');
  assert.equal(cluster.spec.instances, 2);
  assert.equal(cluster.spec.sgInstanceProfile, 'size-medium');
  assert.equal(cluster.spec.pods.persistentVolume.size, '50Gi');
  assert.equal(cluster.spec.postgres.version, '16.4');
  assert.deepEqual(cluster.spec.configurations?.backups?.[0], { cronSchedule: '0 3 * * *', retention: 7, sgObjectStorage: 'claimflow-backups' });
  assert.ok(isTrue(cluster, 'Bootstrapped'));

  const secret = await core.readNamespacedSecret({ namespace: ns, name: 'orders-conn' });
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  assert.deepEqual(Object.keys(data).sort(), ['database', 'host', 'password', 'port', 'username']);
  assert.equal(data.host, `orders.${ns}.svc`);
  assert.equal(data.port, '5432');
  assert.equal(data.database, 'postgres');
  assert.equal(data.username, 'postgres');
  assert.match(data.password ?? '', /^[A-Za-z0-9]{24}$/);
});

test('a size change raises PendingRestart, an instances change does not, and a restart clears it', async () => {
  const ns = await newNamespace();
  const before = await readyClaim(ns, 'inventory');

  await patch(CLAIM, ns, 'inventory', { spec: { parameters: { size: 'large', instances: 3 } } });
  const cluster = await waitForObject(
    CLUSTER,
    ns,
    'inventory',
    'PendingRestart and the new profile',
    (o) => isTrue(o, 'PendingRestart') && o.spec.sgInstanceProfile === 'size-large',
  );
  assert.equal(condition(cluster, 'PendingRestart')?.reason, 'SizingChanged');
  assert.equal(cluster.spec.sgInstanceProfile, 'size-large');
  assert.equal(cluster.spec.pods.persistentVolume.size, '200Gi');
  const scaled = await waitForObject(CLUSTER, ns, 'inventory', 'instances 3', (o) => o.spec.instances === 3);
  assert.ok(isTrue(scaled, 'PendingRestart'));

  const claim = await waitForObject(CLAIM, ns, 'inventory', 'observedGeneration', (o) => o.status?.observedGeneration === o.metadata?.generation);
  assert.ok((claim.metadata?.generation ?? 0) > (before.metadata?.generation ?? 0));
  assert.ok(isTrue(claim, 'Ready'), 'the claim stays Ready through a resize');

  const op = await runOp(ns, 'inventory-restart', { sgCluster: 'inventory', op: 'restart', restart: { method: 'InPlace', onlyPendingRestart: true } });
  assert.ok(isTrue(op, 'Completed'), JSON.stringify(op.status));
  assert.equal(condition(op, 'Completed')?.reason, 'OperationCompleted');
  assert.equal(condition(op, 'Running')?.status, 'False');
  assert.equal(condition(op, 'Running')?.reason, 'OperationNotRunning');
  assert.ok(op.status?.opStarted);
  assert.deepEqual(op.status?.restart?.restartedInstances, ['inventory-0', 'inventory-1', 'inventory-2']);
  const restarted = await get(CLUSTER, ns, 'inventory');
  assert.equal(condition(restarted, 'PendingRestart')?.status, 'False');
});

test('a minorVersionUpgrade SGDbOps moves the cluster to the target version', async () => {
  const ns = await newNamespace();
  await readyClaim(ns, 'billing');
  const op = await runOp(ns, 'billing-minor', { sgCluster: 'billing', op: 'minorVersionUpgrade', minorVersionUpgrade: { postgresVersion: '16.6', method: 'InPlace' } });
  assert.ok(isTrue(op, 'Completed'), JSON.stringify(op.status));
  assert.deepEqual(
    {
      source: op.status?.minorVersionUpgrade?.sourcePostgresVersion,
      target: op.status?.minorVersionUpgrade?.targetPostgresVersion,
      phase: op.status?.minorVersionUpgrade?.phase,
    },
    { source: '16.4', target: '16.6', phase: 'Completed' },
  );
  assert.equal((await get(CLUSTER, ns, 'billing'))?.spec.postgres.version, '16.6');
});

test('majorVersionUpgrade and securityUpgrade run one at a time and take effect', async () => {
  const ns = await newNamespace();
  await readyClaim(ns, 'ledger');
  await create(DBOPS, ns, 'ledger-major', { sgCluster: 'ledger', op: 'majorVersionUpgrade', majorVersionUpgrade: { postgresVersion: '17.2', link: true } });
  await create(DBOPS, ns, 'ledger-security', { sgCluster: 'ledger', op: 'securityUpgrade', securityUpgrade: { method: 'InPlace' } });
  const major = await waitForObject(DBOPS, ns, 'ledger-major', 'major upgrade finished', finished);
  const security = await waitForObject(DBOPS, ns, 'ledger-security', 'security upgrade finished', finished);
  assert.ok(isTrue(major, 'Completed'), JSON.stringify(major.status));
  assert.ok(isTrue(security, 'Completed'), JSON.stringify(security.status));
  assert.equal(major.status?.majorVersionUpgrade?.sourcePostgresVersion, '16.4');
  assert.equal(major.status?.majorVersionUpgrade?.targetPostgresVersion, '17.2');
  // the second operation on a cluster starts only after the first one finished
  const majorDone = Date.parse(condition(major, 'Completed')?.lastTransitionTime ?? '');
  assert.ok(Date.parse(security.status?.opStarted ?? '') >= majorDone, JSON.stringify({ major: major.status, security: security.status }));
  const cluster = await get(CLUSTER, ns, 'ledger');
  assert.equal(cluster?.spec.postgres.version, '17.2');
  assert.equal(cluster?.status?.securityUpgrade?.patchLevel, 1);
  assert.ok(cluster?.status?.securityUpgrade?.appliedAt);
});

test('an SGBackup completes with a size, and a new claim restores from it', async () => {
  const ns = await newNamespace();
  await readyClaim(ns, 'crm');
  await create(BACKUP, ns, 'crm-manual', { sgCluster: 'crm', managedLifecycle: false });
  const backup = await waitForObject(BACKUP, ns, 'crm-manual', 'backup finished', (o) => ['Completed', 'Failed'].includes(o.status?.process?.status ?? ''));
  assert.equal(backup.status?.process?.status, 'Completed', JSON.stringify(backup.status));
  const { uncompressed = 0, compressed = 0 } = backup.status?.backupInformation?.size ?? {};
  assert.ok(Number.isInteger(uncompressed) && uncompressed > 0, `uncompressed ${uncompressed}`);
  assert.ok(Number.isInteger(compressed) && compressed > 0 && compressed < uncompressed, `compressed ${compressed}`);
  assert.equal(backup.status?.backupInformation?.postgresVersion, '16.4');
  assert.ok(backup.status?.backupPath);
  const timing = backup.status?.process?.timing;
  assert.ok(timing?.start && timing.end && timing.stored, JSON.stringify(timing));

  const restored = await readyClaim(ns, 'crm-copy', { restore: { fromBackup: 'crm-manual' } });
  assert.equal(condition(restored, 'Ready')?.reason, 'Available');
  const cluster = await get(CLUSTER, ns, 'crm-copy');
  assert.equal(cluster?.spec.initialData?.restore?.fromBackup?.name, 'crm-manual');
});

test('delay annotations are read when the object is acted on', async () => {
  const ns = await newNamespace();
  await create(CLAIM, ns, 'slow', claimSpec({}, 'slow-conn'), {
    'sim.claimflow.io/ready-delay-ms': '0',
    'sim.claimflow.io/op-delay-ms': '600000',
    'sim.claimflow.io/backup-delay-ms': '600000',
  });
  await waitForObject(CLAIM, ns, 'slow', 'claim Ready', (o) => isTrue(o, 'Ready'));
  await create(DBOPS, ns, 'slow-vacuum', { sgCluster: 'slow', op: 'vacuum' });
  await create(BACKUP, ns, 'slow-backup', { sgCluster: 'slow' });
  await waitForObject(DBOPS, ns, 'slow-vacuum', 'SGDbOps Running', (o) => isTrue(o, 'Running'));
  await waitForObject(BACKUP, ns, 'slow-backup', 'SGBackup Running', (o) => o.status?.process?.status === 'Running');

  await patch(CLAIM, ns, 'slow', { metadata: { annotations: { 'sim.claimflow.io/op-delay-ms': '0', 'sim.claimflow.io/backup-delay-ms': '0' } } });
  const op = await waitForObject(DBOPS, ns, 'slow-vacuum', 'SGDbOps finished', finished);
  assert.ok(isTrue(op, 'Completed'), JSON.stringify(op.status));
  await waitForObject(BACKUP, ns, 'slow-backup', 'SGBackup Completed', (o) => o.status?.process?.status === 'Completed');
});

test('deleting a claim removes its SGCluster and Secret, then the claim; backups and SGDbOps stay', async () => {
  const ns = await newNamespace();
  await readyClaim(ns, 'legacy');
  await create(BACKUP, ns, 'legacy-final', { sgCluster: 'legacy' });
  await waitForObject(BACKUP, ns, 'legacy-final', 'backup Completed', (o) => o.status?.process?.status === 'Completed');
  await runOp(ns, 'legacy-vacuum', { sgCluster: 'legacy', op: 'vacuum' });

  await custom.deleteNamespacedCustomObject({ ...api(CLAIM), namespace: ns, name: 'legacy' });
  await waitFor('claim gone', async () => (await get(CLAIM, ns, 'legacy')) === undefined);
  assert.equal(await get(CLUSTER, ns, 'legacy'), undefined);
  await assert.rejects(core.readNamespacedSecret({ namespace: ns, name: 'legacy-conn' }), (err) => code(err) === 404);
  assert.ok(await get(BACKUP, ns, 'legacy-final'), 'the backup outlives the instance');
  assert.ok(await get(DBOPS, ns, 'legacy-vacuum'), 'the operation history stays');
});

test('injected failures show up with their reason and message', async (t) => {
  const ns = await newNamespace();
  await readyClaim(ns, 'flaky');

  await t.test('provisioning failure: never Ready, ReconcileError with the message', async () => {
    await create(CLAIM, ns, 'broken', claimSpec({}, 'broken-conn'), { 'sim.claimflow.io/fail-provisioning': 'quota exceeded in region' });
    const claim = await waitForObject(CLAIM, ns, 'broken', 'ReconcileError', (o) => condition(o, 'Ready')?.reason === 'ReconcileError');
    assert.equal(condition(claim, 'Ready')?.status, 'False');
    assert.equal(condition(claim, 'Ready')?.message, 'quota exceeded in region');
    assert.equal(condition(claim, 'Synced')?.status, 'False');
    assert.equal(await get(CLUSTER, ns, 'broken'), undefined);
  });

  await t.test('restore from a missing backup: ReconcileError naming the backup', async () => {
    await create(CLAIM, ns, 'orphan-restore', claimSpec({ restore: { fromBackup: 'no-such-backup' } }, 'orphan-restore-conn'));
    const claim = await waitForObject(CLAIM, ns, 'orphan-restore', 'ReconcileError', (o) => condition(o, 'Ready')?.reason === 'ReconcileError');
    assert.match(condition(claim, 'Ready')?.message ?? '', /no-such-backup/);
  });

  await t.test('op failure from the claim (fail-ops, patched by another field manager): Failed, no effect', async () => {
    await patch(CLAIM, ns, 'flaky', { metadata: { annotations: { 'sim.claimflow.io/fail-ops': 'restart,minorVersionUpgrade' } } });
    const op = await runOp(ns, 'flaky-minor', { sgCluster: 'flaky', op: 'minorVersionUpgrade', minorVersionUpgrade: { postgresVersion: '16.8' } });
    assert.ok(isTrue(op, 'Failed'), JSON.stringify(op.status));
    assert.equal(condition(op, 'Failed')?.reason, 'OperationFailed');
    assert.ok(condition(op, 'Failed')?.message);
    assert.equal(condition(op, 'Running')?.status, 'False');
    assert.equal(condition(op, 'Completed')?.status, 'False');
    assert.ok(op.status?.minorVersionUpgrade?.failure);
    assert.equal((await get(CLUSTER, ns, 'flaky'))?.spec.postgres.version, '16.4', 'the cluster stays on its old version');

    const vacuum = await runOp(ns, 'flaky-vacuum', { sgCluster: 'flaky', op: 'vacuum' });
    assert.ok(isTrue(vacuum, 'Completed'), 'ops not listed in fail-ops still complete');
  });

  await t.test('op failure on the SGDbOps (fail): Failed with that message', async () => {
    const op = await runOp(ns, 'flaky-repack', { sgCluster: 'flaky', op: 'repack' }, { 'sim.claimflow.io/fail': 'lock not acquired' });
    assert.equal(condition(op, 'Failed')?.reason, 'OperationFailed');
    assert.equal(condition(op, 'Failed')?.message, 'lock not acquired');
  });

  await t.test('op timeout (timeout on the SGDbOps, timeout-ops on the claim): OperationTimedOut', async () => {
    const op = await runOp(ns, 'flaky-security', { sgCluster: 'flaky', op: 'securityUpgrade' }, { 'sim.claimflow.io/timeout': 'true' });
    assert.ok(isTrue(op, 'Failed'), JSON.stringify(op.status));
    assert.equal(condition(op, 'Failed')?.reason, 'OperationTimedOut');
    assert.equal((await get(CLUSTER, ns, 'flaky'))?.status?.securityUpgrade, undefined, 'a timed-out upgrade has no effect');

    await patch(CLAIM, ns, 'flaky', { metadata: { annotations: { 'sim.claimflow.io/timeout-ops': '*' } } });
    const bench = await runOp(ns, 'flaky-benchmark', { sgCluster: 'flaky', op: 'benchmark' });
    assert.equal(condition(bench, 'Failed')?.reason, 'OperationTimedOut');
  });

  await t.test('op on a cluster that does not exist: Failed', async () => {
    const op = await runOp(ns, 'ghost-restart', { sgCluster: 'ghost', op: 'restart' });
    assert.equal(condition(op, 'Failed')?.reason, 'OperationFailed');
    assert.match(condition(op, 'Failed')?.message ?? '', /ghost/);
  });

  await t.test('backup failure (fail on the SGBackup, fail-backups on the claim): Failed with process.failure', async () => {
    await create(BACKUP, ns, 'flaky-b1', { sgCluster: 'flaky' }, { 'sim.claimflow.io/fail': 'object storage unreachable' });
    const b1 = await waitForObject(BACKUP, ns, 'flaky-b1', 'backup Failed', (o) => o.status?.process?.status === 'Failed');
    assert.equal(b1.status?.process?.failure, 'object storage unreachable');

    await patch(CLAIM, ns, 'flaky', { metadata: { annotations: { 'sim.claimflow.io/fail-backups': 'true' } } });
    await create(BACKUP, ns, 'flaky-b2', { sgCluster: 'flaky' });
    const b2 = await waitForObject(BACKUP, ns, 'flaky-b2', 'backup Failed', (o) => o.status?.process?.status === 'Failed');
    assert.ok(b2.status?.process?.failure);
    assert.equal(b2.status?.backupInformation, undefined);
  });
});

test('the CRDs reject what StackGres and the claim schema reject', async () => {
  const ns = await newNamespace();
  const invalid = (err: unknown) => code(err) === 422;

  await assert.rejects(create(CLAIM, ns, 'bad-size', claimSpec({ size: 'huge' })), invalid);
  await assert.rejects(create(CLAIM, ns, 'bad-instances', claimSpec({ instances: 4 })), invalid);
  await assert.rejects(create(CLAIM, ns, 'bad-window', claimSpec({ maintenance: { dayOfWeek: 'sunday', timeOfDay: '25:00' } })), invalid);
  await assert.rejects(create(DBOPS, ns, 'bad-op', { sgCluster: 'x', op: 'reboot' }), invalid);
  await assert.rejects(create(DBOPS, ns, `a${'b'.repeat(57)}`, { sgCluster: 'x', op: 'vacuum' }), invalid);
  await assert.rejects(create(DBOPS, ns, 'no-target', { sgCluster: 'x', op: 'minorVersionUpgrade' }), invalid);
  await assert.rejects(
    create(DBOPS, ns, 'link-and-clone', { sgCluster: 'x', op: 'majorVersionUpgrade', majorVersionUpgrade: { postgresVersion: '17', link: true, clone: true } }),
    invalid,
  );

  await create(DBOPS, ns, 'later', { sgCluster: 'x', op: 'vacuum', runAt: '2999-01-01T00:00:00Z' });
  await assert.rejects(patch(DBOPS, ns, 'later', { spec: { runAt: '2999-02-01T00:00:00Z' } }), invalid);
  // metadata stays writable (that is how failure injection is added to a pending operation)
  await patch(DBOPS, ns, 'later', { metadata: { annotations: { note: 'x' } } });
  const later = await get(DBOPS, ns, 'later');
  assert.equal(later?.status, undefined, 'an operation whose runAt is in the future has not started');
});
