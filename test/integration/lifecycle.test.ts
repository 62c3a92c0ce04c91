import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { tenantNamespace } from '../../src/domain/index.js';
import { loadKubeConfig, uniqueName } from '../support/env.js';
import { annotateClaim, condition, get, list } from '../support/kube.js';
import {
  FAST_SETTINGS, eventTypes, idle, projected, readModelRow, send, start, startInstance, stateOf, waitForState,
  type Harness, readyAndIdle, startHarness,
} from '../support/lifecycle.js';

// Every command end to end, on the real dev server, kube-apiserver and PostgreSQL, with the
// cluster simulator standing in for Crossplane and StackGres.

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => harness.stop());

const ready = readyAndIdle;

describe('instance lifecycle', () => {
  test('provision, scale, restart, minor, major and security upgrades, backup, deprovision', async () => {
    const instance = await startInstance(harness, { version: '15.10', size: 'small' });
    const { namespace, name } = instance;

    let state = await waitForState(instance, 'Ready', ready);
    assert.equal(state.version, '15.10');
    assert.equal(state.connection?.secretName, `${name}-connection`);
    assert.equal(condition(await get('postgresqlinstances', namespace, name), 'Ready')?.status, 'True');

    await send(instance, { kind: 'scale', size: 'medium', applyAt: 'now' });
    state = await waitForState(instance, 'scaled', idle);
    assert.equal(state.lastOperation?.status, 'succeeded');
    assert.equal(state.size, 'medium');
    assert.equal(state.pendingRestart, false);
    const cluster = await get('sgclusters', namespace, name);
    assert.equal(condition(cluster, 'PendingRestart')?.status, 'False');
    const restarts = (await list('sgdbops', namespace)).filter((ops) => ops.spec.op === 'restart');
    assert.equal(restarts.length, 1);
    assert.equal(restarts[0]!.spec.restart.onlyPendingRestart, true);

    await send(instance, { kind: 'restart' });
    state = await waitForState(instance, 'restarted', idle);
    assert.equal(state.lastOperation?.type, 'restart');
    assert.equal(state.lastOperation?.status, 'succeeded');

    await send(instance, { kind: 'upgrade', version: '15.13' });
    state = await waitForState(instance, 'minor upgrade', idle);
    assert.equal(state.lastOperation?.type, 'minor-upgrade');
    assert.equal(state.version, '15.13');
    assert.equal((await get('sgclusters', namespace, name))?.spec.postgres.version, '15.13');

    await send(instance, { kind: 'upgrade', version: '16.9' });
    state = await waitForState(instance, 'major upgrade', idle);
    assert.equal(state.lastOperation?.type, 'major-upgrade');
    assert.equal(state.lastOperation?.status, 'succeeded');
    assert.equal(state.version, '16.9');
    assert.ok(state.backups.some((backup) => backup.purpose === 'pre-upgrade' && backup.status === 'completed'), 'a backup precedes the major upgrade');
    assert.equal((await get('postgresqlinstances', namespace, name))?.spec.parameters.postgres.version, '16.9', 'the claim follows the cluster');

    await send(instance, { kind: 'security-upgrade' });
    state = await waitForState(instance, 'security upgrade', idle);
    assert.equal(state.patchLevel, 1);

    await send(instance, { kind: 'backup' });
    state = await waitForState(instance, 'backup', idle);
    const onDemand = state.backups.find((backup) => backup.purpose === 'on-demand');
    assert.equal(onDemand?.status, 'completed');
    assert.ok((onDemand?.sizeBytes ?? 0) > 0);
    assert.equal((await get('sgbackups', namespace, onDemand.name))?.status?.process.status, 'Completed');

    // The read model has every event, in order, and the same state as the workflow.
    state = await projected(harness, instance);
    const row = await readModelRow(harness.pool, instance.instanceId);
    assert.deepEqual(row?.state, state);
    const backups = await harness.pool.query('SELECT purpose, status, size_bytes FROM backups WHERE instance_id = $1 ORDER BY requested_at', [instance.instanceId]);
    assert.deepEqual(backups.rows.map((backup) => backup.purpose), ['pre-upgrade', 'on-demand']);
    const operations = await harness.pool.query('SELECT type, status FROM operations WHERE instance_id = $1 ORDER BY started_at', [instance.instanceId]);
    assert.deepEqual(
      operations.rows.map((operation) => `${operation.type}:${operation.status}`),
      ['provision:succeeded', 'scale:succeeded', 'restart:succeeded', 'minor-upgrade:succeeded', 'major-upgrade:succeeded', 'security-upgrade:succeeded', 'backup:succeeded'],
    );

    await send(instance, { kind: 'deprovision', finalBackup: true });
    await instance.handle.result();
    assert.equal(await get('postgresqlinstances', namespace, name), undefined);
    assert.equal(await get('sgclusters', namespace, name), undefined);
    const types = await eventTypes(harness.pool, instance.instanceId);
    assert.deepEqual(types.slice(-5), ['DeprovisionRequested', 'BackupRequested', 'FinalBackupTaken', 'ClaimDeleted', 'InstanceDeleted']);
    assert.equal((await readModelRow(harness.pool, instance.instanceId))?.phase, 'deleted');
  });

  test('validators refuse what the instance cannot do now, naming why', async () => {
    const instance = await startInstance(harness, { version: '16.8', deletionProtection: true });
    await waitForState(instance, 'Ready', ready);
    const rejected = async (promise: Promise<unknown>, type: string, message: RegExp) => {
      const error = await promise.then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof WorkflowUpdateFailedError, `expected a rejected update, got ${String(error)}`);
      const cause = error.cause as { type?: string; message: string };
      assert.equal(cause.type, type);
      assert.match(cause.message, message);
    };
    await rejected(send(instance, { kind: 'upgrade', version: '15.13' }), 'downgrade', /downgrade/);
    await rejected(send(instance, { kind: 'upgrade', version: '16.99' }), 'unknown_version', /not in the catalog/);
    await rejected(send(instance, { kind: 'deprovision', finalBackup: false }), 'deletion_protected', /deletion protection/);

    await annotateClaim(instance.namespace, instance.name, { 'op-delay-ms': '3000' });
    const running = await start(instance, { kind: 'restart' });
    await rejected(send(instance, { kind: 'backup' }), 'busy', new RegExp(`restart \\(operation ${running}\\)`));
    await waitForState(instance, 'restart done', idle);

    await send(instance, { kind: 'change-settings', deletionProtection: false });
    await send(instance, { kind: 'deprovision', finalBackup: false });
    await instance.handle.result();
  });

  test('a repeated request id does nothing twice', async () => {
    const instance = await startInstance(harness);
    await waitForState(instance, 'Ready', ready);
    const first = await send(instance, { kind: 'backup' }, 'backup-once');
    const again = await send(instance, { kind: 'backup' }, 'backup-once');
    assert.equal(first.duplicate, false);
    assert.equal(again.operationId, 'backup-once');
    assert.equal((await stateOf(instance))!.backups.length, 1);
    assert.equal((await list('sgbackups', instance.namespace)).length, 1);
  });
});

describe('failures are failures', () => {
  test('provisioning that never becomes Ready fails with the claim\'s own message', async () => {
    // The claim exists before the workflow applies it, carrying the simulator's failure switch.
    const name = 'doomed';
    const instanceName = `${name}-${Date.now().toString(36)}`;
    const kubeConfig = loadKubeConfig();
    const tenantProbe = startInstanceLater(instanceName);
    await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: tenantProbe.namespace } } });
    await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'db.claimflow.io', version: 'v1alpha1', namespace: tenantProbe.namespace, plural: 'postgresqlinstances',
      body: {
        apiVersion: 'db.claimflow.io/v1alpha1', kind: 'PostgreSQLInstance',
        metadata: { name: instanceName, annotations: { 'sim.claimflow.io/fail-provisioning': 'no capacity for size small in zone a' } },
        spec: { parameters: { size: 'small', postgres: { version: '15.10' } }, writeConnectionSecretToRef: { name: `${instanceName}-connection` } },
      },
    });
    const instance = await tenantProbe.start({ ...FAST_SETTINGS, provisionTimeoutMs: 3000 });
    const state = await waitForState(instance, 'provisioning to fail', (s) => s.phase === 'failed');
    assert.equal(state.lastOperation?.status, 'failed');
    assert.match(state.failure?.message ?? '', /no capacity for size small in zone a/);
    // A failed instance can still be cleaned up.
    await send(instance, { kind: 'deprovision', finalBackup: false });
    await instance.handle.result();
  });

  test('a failed restart, a failed major upgrade and a failed backup are recorded as failed', async () => {
    const instance = await startInstance(harness, { version: '15.12' });
    await waitForState(instance, 'Ready', ready);
    await annotateClaim(instance.namespace, instance.name, { 'fail-ops': 'restart,majorVersionUpgrade', 'fail-backups': 'true' });

    await send(instance, { kind: 'restart' });
    let state = await waitForState(instance, 'restart to fail', idle);
    assert.equal(state.lastOperation?.status, 'failed');
    assert.equal(state.lastOperation?.error?.reason, 'OperationFailed');

    await send(instance, { kind: 'backup' });
    state = await waitForState(instance, 'backup to fail', idle);
    assert.equal(state.lastOperation?.status, 'failed');
    assert.equal(state.backups.at(-1)?.status, 'failed');

    // Backups work again; the major upgrade itself fails: the instance stays on 15.12, Ready.
    await annotateClaim(instance.namespace, instance.name, { 'fail-backups': null });
    await send(instance, { kind: 'upgrade', version: '16.9' });
    state = await waitForState(instance, 'major upgrade to fail', idle);
    assert.equal(state.lastOperation?.type, 'major-upgrade');
    assert.equal(state.lastOperation?.status, 'failed');
    assert.equal(state.version, '15.12');
    assert.equal(state.phase, 'ready');
    assert.equal((await get('sgclusters', instance.namespace, instance.name))?.spec.postgres.version, '15.12');
    const failedOps = (await list('sgdbops', instance.namespace)).filter((ops) => condition(ops as never, 'Failed')?.status === 'True');
    assert.equal(failedOps.length, 2);

    state = await projected(harness, instance);
    const types = await eventTypes(harness.pool, instance.instanceId);
    assert.ok(types.includes('OperationFailed') && types.includes('BackupFailed') && types.includes('UpgradeFailed'));
  });

  test('a timed-out operation is a failure, not a success', async () => {
    const instance = await startInstance(harness);
    await waitForState(instance, 'Ready', ready);
    await annotateClaim(instance.namespace, instance.name, { 'timeout-ops': 'securityUpgrade' });
    await send(instance, { kind: 'security-upgrade' });
    const state = await waitForState(instance, 'security upgrade to time out', idle);
    assert.equal(state.lastOperation?.status, 'failed');
    assert.equal(state.lastOperation?.error?.reason, 'OperationTimedOut');
    assert.equal(state.patchLevel, 0);
  });
});

/** Picks the tenant and namespace first, so a test can prepare the cluster before the workflow starts. */
function startInstanceLater(name: string) {
  const tenant = uniqueName('t').slice(0, 12);
  return {
    namespace: tenantNamespace(tenant),
    start: (settings: typeof FAST_SETTINGS) => startInstance(harness, { name }, settings, tenant),
  };
}
