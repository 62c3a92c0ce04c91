// The Kubernetes port against the harness's kube-apiserver: the tenant's namespace is made on the
// tenant's first apply, and later applies do not ask for it again; objects are labelled as the API
// server accepts, and a create it refuses fails the step at once, in its words.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKubernetesActivities } from '../../src/activities/kubernetes/activities.js';
import { createKubeClients } from '../../src/activities/kubernetes/client.js';
import { CLAIM, LABELS, SGBACKUP, operationLabel } from '../../src/activities/kubernetes/resources.js';
import { loadKubeConfig, uniqueName } from '../support/env.js';

const parameters = {
  size: 'small',
  instances: 1,
  version: '16.9',
  maintenance: { dayOfWeek: 'sunday', timeOfDay: '03:00' },
  deletionProtection: false,
  connectionSecretName: 'orders-db-connection',
};

test('applyClaim makes a missing tenant namespace once, then applies without asking for it', async () => {
  const clients = createKubeClients(loadKubeConfig());
  let namespaceCreates = 0;
  const core = new Proxy(clients.core, {
    get(target, property, receiver) {
      if (property === 'createNamespace') {
        return (...args: Parameters<typeof target.createNamespace>) => {
          namespaceCreates++;
          return target.createNamespace(...args);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  const kubernetes = createKubernetesActivities({ ...clients, core });
  const namespace = uniqueName('tenant-ns');
  const ref = (instanceName: string) => ({ tenant: namespace, namespace, instanceName, instanceId: uniqueName('id') });

  const first = await kubernetes.applyClaim({ ref: ref('orders-db'), parameters });
  assert.equal(first.generation, 1);
  assert.equal(namespaceCreates, 1, 'the first apply into a missing namespace makes it');
  const made = await clients.core.readNamespace({ name: namespace });
  assert.equal(made.metadata?.labels?.['claimflow.io/managed'], 'true');

  await kubernetes.applyClaim({ ref: ref('orders-db'), parameters: { ...parameters, size: 'medium' } });
  await kubernetes.applyClaim({ ref: ref('billing-db'), parameters });
  assert.equal(namespaceCreates, 1, 'applies into an existing namespace do not ask to create it');
  const claims = await clients.objects.list(CLAIM.apiVersion, CLAIM.kind, namespace);
  assert.deepEqual(claims.items.map((claim) => claim.metadata?.name).sort(), ['billing-db', 'orders-db']);
});

test("a run id that, cut to a label's 63 characters, ends in '-' still labels its SGBackup; a create the API server refuses fails at once", async () => {
  const clients = createKubeClients(loadKubeConfig());
  const kubernetes = createKubernetesActivities(clients);
  const namespace = uniqueName('tenant-ns');
  await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
  const ref = { tenant: namespace, namespace, instanceName: 'orders', instanceId: uniqueName('id') };
  const deadline = Date.now() + 30_000;
  // a window's run, as a test window's Schedule names it: the 63rd character is the '-' after the hour
  const operationId = 'maintenance-window-tq-rshg6lnr-saturday-15-44-2s-2026-12-07T17-52-10Z';
  assert.equal(operationId.slice(0, 63).at(-1), '-');

  const outcome = await kubernetes.runBackup({ ref, name: 'orders-backup-1', cluster: 'orders', operationId, managedLifecycle: false, deadline });
  assert.ok(outcome.status === 'completed' || outcome.reason !== 'ObjectRefused', JSON.stringify(outcome));
  const backup = await clients.objects.read({ apiVersion: SGBACKUP.apiVersion, kind: SGBACKUP.kind, metadata: { name: 'orders-backup-1', namespace } });
  assert.equal(backup.metadata?.labels?.[LABELS.operation], operationLabel(operationId));
  assert.equal(backup.metadata?.annotations?.[LABELS.operation], operationId);

  const refused = await kubernetes.runBackup({ ref, name: 'Orders_Backup', cluster: 'orders', operationId: 'op-2', managedLifecycle: false, deadline });
  assert.equal(refused.status, 'failed');
  assert.equal(refused.status === 'failed' && refused.reason, 'ObjectRefused');
  // ObjectRefused, not BackupTimedOut: the step ended on the refusal, not at its deadline.
  assert.match(refused.status === 'failed' ? refused.message : '', /^the Kubernetes API server refused SGBackup Orders_Backup: .*metadata\.name/);
});
