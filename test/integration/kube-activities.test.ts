// The Kubernetes port's claim apply against the harness's kube-apiserver: the tenant's namespace
// is made on the tenant's first apply, and later applies do not ask for it again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKubernetesActivities } from '../../src/activities/kubernetes/activities.js';
import { createKubeClients } from '../../src/activities/kubernetes/client.js';
import { CLAIM } from '../../src/activities/kubernetes/resources.js';
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
