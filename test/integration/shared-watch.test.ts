// The watches the Kubernetes port's waits share, against the harness's kube-apiserver. Objects of
// a kind of this test's own stand in for claimflow's kinds, so that the cluster simulator (which
// reacts to claims, SGDbOps and SGBackups) cannot touch them, and so that the API server's watch
// cache for the kind starts with this test (a version from before it is one the server no longer has).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { watchUntil } from '../../src/activities/kubernetes/watch-until.js';
import { WatchedCollection, type WatchSubscriber } from '../../src/activities/kubernetes/watched-collection.js';
import type { CustomObject } from '../../src/activities/kubernetes/resources.js';
import { waitForCrdsEstablished } from '../../stack/crds.js';
import { loadKubeConfig, uniqueName } from '../support/env.js';
import { eventually } from '../support/lifecycle.js';

const kubeConfig = loadKubeConfig();
const core = kubeConfig.makeApiClient(CoreV1Api);
const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
const custom = kubeConfig.makeApiClient(CustomObjectsApi);
const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
const probe = { group: 'test.claimflow.io', version: 'v1', plural: uniqueName('probes').replace(/-/g, ''), kind: '' };
probe.kind = `Probe${probe.plural.slice(6)}`;
const apiVersion = `${probe.group}/${probe.version}`;
const namespace = uniqueName('shared-watch');
const label = 'claimflow.io/test-probe';
const collections: WatchedCollection[] = [];

const listedVersion = async () =>
  ((await custom.listClusterCustomObject({ group: probe.group, version: probe.version, plural: probe.plural, labelSelector: label, limit: 1 })) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? '';

function sharedCollection(currentVersion: () => Promise<string> = listedVersion): WatchedCollection {
  const collection = new WatchedCollection({ kubeConfig, path: `/apis/${apiVersion}/${probe.plural}`, selector: { labelSelector: label }, currentVersion, retryAfterMs: 100 });
  collections.push(collection);
  return collection;
}

const header = (name: string) => ({ apiVersion, kind: probe.kind, metadata: { name, namespace } });
const createProbe = (name: string, phase: string) =>
  objects.create({ ...header(name), metadata: { name, namespace, labels: { [label]: 'yes' } }, spec: { phase } });
const setPhase = (name: string, phase: string) =>
  objects.patch({ ...header(name), spec: { phase } }, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
const readProbe = (name: string): Promise<CustomObject | undefined> => objects.read(header(name));
const phaseOf = (object: CustomObject | undefined) => object?.spec?.phase as string | undefined;

/** A subscriber that keeps what it is told. */
function recorder(): WatchSubscriber & { phases: (string | undefined)[]; resyncs: number } {
  const seen = { phases: [] as (string | undefined)[], resyncs: 0 };
  return Object.assign(seen, {
    changed: (object: CustomObject | undefined) => void seen.phases.push(object ? phaseOf(object) : 'deleted'),
    resync: () => void seen.resyncs++,
    trouble: () => undefined,
  });
}

before(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const name = `${probe.plural}.${probe.group}`;
  await extensions.createCustomResourceDefinition({
    body: {
      metadata: { name },
      spec: {
        group: probe.group,
        scope: 'Namespaced',
        names: { plural: probe.plural, kind: probe.kind, singular: probe.plural.slice(0, -1) },
        versions: [{ name: probe.version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
      },
    },
  });
  await waitForCrdsEstablished(kubeConfig, [name]);
});
after(async () => {
  collections.forEach((collection) => collection.stop());
  await extensions.deleteCustomResourceDefinition({ name: `${probe.plural}.${probe.group}` });
  await core.deleteNamespace({ name: namespace });
});

test('one watch delivers each object\'s changes to the waits on that object only', async () => {
  const collection = sharedCollection();
  const [first, second] = [uniqueName('first'), uniqueName('second')];
  const onFirst = recorder();
  const onSecond = recorder();
  const subscriptions = [collection.subscribe(namespace, first, onFirst), collection.subscribe(namespace, second, onSecond)];
  await Promise.all(subscriptions.map((subscription) => subscription.open));

  await createProbe(first, 'creating');
  await setPhase(first, 'ready');
  await eventually('both changes of the first object', () => onFirst.phases.length === 2 || undefined);
  assert.deepEqual(onFirst.phases, ['creating', 'ready']);
  assert.deepEqual(onSecond.phases, [], 'another object\'s changes are not delivered');

  subscriptions[0]!.unsubscribe();
  await setPhase(first, 'after');
  await createProbe(second, 'creating');
  await objects.delete(header(second));
  await eventually('the second object made and deleted', () => onSecond.phases.length === 2 || undefined);
  assert.deepEqual(onSecond.phases, ['creating', 'deleted']);
  assert.deepEqual(onFirst.phases, ['creating', 'ready'], 'nothing reaches a subscriber that left');
  subscriptions[1]!.unsubscribe();
});

test('a resource version the server no longer has: a fresh list, every subscriber told to read again, then changes as before', async () => {
  let lists = 0;
  const collection = sharedCollection(async () => {
    lists++;
    // A version from before the kind's watch cache began: the API server answers 410 Gone.
    return lists === 1 ? '1' : listedVersion();
  });
  const name = uniqueName('expired');
  const subscriber = recorder();
  const { open, unsubscribe } = collection.subscribe(namespace, name, subscriber);
  await open;
  await eventually('a fresh list and one resync', () => (lists === 2 && subscriber.resyncs === 1) || undefined);
  await createProbe(name, 'after-the-gap');
  await eventually('a change after the fresh list', () => subscriber.phases.length === 1 || undefined);
  assert.deepEqual(subscriber.phases, ['after-the-gap']);
  unsubscribe();
});

test('watchUntil: the state an object already has ends the wait; a deadline answers with the last state seen', async () => {
  const collection = sharedCollection();
  const done = uniqueName('done');
  await createProbe(done, 'ready');
  const already = await watchUntil({ collection, namespace, name: done, read: () => readProbe(done), test: (object) => (phaseOf(object) === 'ready' ? 'seen' : undefined), deadline: Date.now() + 10_000 });
  assert.deepEqual(already, { done: true, value: 'seen' });

  const later = uniqueName('later');
  await createProbe(later, 'creating');
  const waiting = watchUntil({ collection, namespace, name: later, read: () => readProbe(later), test: (object) => (phaseOf(object) === 'ready' ? 'ready' : undefined), deadline: Date.now() + 10_000 });
  await setPhase(later, 'ready');
  assert.deepEqual(await waiting, { done: true, value: 'ready' });

  const timedOut = await watchUntil({ collection, namespace, name: done, read: () => readProbe(done), test: () => undefined, deadline: Date.now() + 300 });
  assert.equal(timedOut.done, false);
  assert.equal(phaseOf(timedOut.done ? undefined : timedOut.last), 'ready');
});
