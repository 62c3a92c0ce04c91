// The harness's kube-apiserver answers client-node over HTTPS with the kubeconfig's admin client
// certificate, serves the project's CRDs, and stack/crds.ts installs a CRD the way `up` does
// (server-side apply, idempotent, waits for Established).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApiextensionsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { applyCrds, FIELD_MANAGER } from '../../stack/crds.js';
import { loadKubeConfig, uniqueName } from '../support/env.js';

const PROJECT_CRDS = ['postgresqlinstances.db.claimflow.io', 'sgclusters.stackgres.io', 'sgdbops.stackgres.io', 'sgbackups.stackgres.io'];

test('client-node lists namespaces over HTTPS with the admin client certificate', async () => {
  const kc = loadKubeConfig();
  assert.match(kc.getCurrentCluster()?.server ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
  const names = namespaces.items.map((n) => n.metadata?.name);
  assert.ok(names.includes('default'), `namespaces: ${names.join(', ')}`);
  assert.ok(names.includes('kube-system'), `namespaces: ${names.join(', ')}`);
});

test('the claimflow and StackGres CRDs from deploy/crds are installed and Established', async () => {
  const crds = await loadKubeConfig().makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
  for (const name of PROJECT_CRDS) {
    const crd = crds.items.find((c) => c.metadata?.name === name);
    assert.ok(crd, `CRD ${name} is missing (installed: ${crds.items.map((c) => c.metadata?.name).join(', ') || 'none'})`);
    assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), `CRD ${name} is not Established`);
  }
});

test('stack/crds applies a CRD with server-side apply, idempotently', async () => {
  const kc = loadKubeConfig();
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const plural = uniqueName('widgets').replace(/-/g, '');
  const group = 'smoke.claimflow.test';
  const name = `${plural}.${group}`;
  const dir = mkdtempSync(join(tmpdir(), 'claimflow-crd-'));
  writeFileSync(
    join(dir, 'throwaway.yaml'),
    `# a CRD that exists only for this test
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${name}
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: Widget${plural.slice(7)}, plural: ${plural}, singular: ${plural.slice(0, -1)} }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
---
`,
  );
  try {
    assert.deepEqual(await applyCrds(kc, dir), [name]);
    const first = await api.readCustomResourceDefinition({ name });
    assert.ok(first.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply'));

    assert.deepEqual(await applyCrds(kc, dir), [name]); // again: nothing changes
    const second = await api.readCustomResourceDefinition({ name });
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await api.deleteCustomResourceDefinition({ name }).catch(() => undefined);
  }
});
