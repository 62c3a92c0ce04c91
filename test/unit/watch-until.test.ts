import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchUntil } from '../../src/activities/kubernetes/watch-until.js';
import type { CustomObject } from '../../src/activities/kubernetes/resources.js';
import type { WatchSubscriber } from '../../src/activities/kubernetes/watched-collection.js';

// The wait's own rules, over a stand-in for the shared watch (the real one is tested against
// kube-apiserver in test/integration/shared-watch.test.ts).

function fakeCollection() {
  const subscribers = new Set<WatchSubscriber>();
  let opened: () => void = () => {};
  const open = new Promise<void>((resolve) => (opened = resolve));
  return {
    subscribers,
    opened: () => opened(),
    subscribe(_namespace: string, _name: string, subscriber: WatchSubscriber) {
      subscribers.add(subscriber);
      return { open, unsubscribe: () => void subscribers.delete(subscriber) };
    },
  };
}

const withPhase = (phase: string): CustomObject => ({ apiVersion: 'v1', kind: 'Thing', metadata: { name: 'x' }, status: { phase } });
const phaseOf = (object: CustomObject | undefined) => object?.status?.phase as string | undefined;
const until = (phase: string) => (object: CustomObject | undefined) => (phaseOf(object) === phase ? phase : undefined);

test('reads only once the watch is open, and leaves the watch when done', async () => {
  const collection = fakeCollection();
  let reads = 0;
  const waiting = watchUntil({ collection, namespace: 'ns', name: 'x', read: () => (reads++, Promise.resolve(withPhase('done'))), test: until('done'), deadline: Date.now() + 5000 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(reads, 0, 'a read before the watch is open could miss a change between the two');
  collection.opened();
  assert.deepEqual(await waiting, { done: true, value: 'done' });
  assert.equal(collection.subscribers.size, 0);
});

test('a resync reads again: a change in a gap of the watch is not lost', async () => {
  const collection = fakeCollection();
  let phase = 'running';
  const waiting = watchUntil({ collection, namespace: 'ns', name: 'x', read: () => Promise.resolve(withPhase(phase)), test: until('done'), deadline: Date.now() + 5000 });
  collection.opened();
  await new Promise((resolve) => setTimeout(resolve, 20));
  phase = 'done'; // changed while the watch was down; no event will tell
  collection.subscribers.forEach((subscriber) => subscriber.resync());
  assert.deepEqual(await waiting, { done: true, value: 'done' });
});

test('the deadline answers with the last state seen; a cancelled activity stops waiting', async () => {
  const collection = fakeCollection();
  collection.opened();
  const timedOut = await watchUntil({ collection, namespace: 'ns', name: 'x', read: () => Promise.resolve(withPhase('running')), test: until('done'), deadline: Date.now() + 100 });
  assert.equal(timedOut.done, false);
  assert.equal(phaseOf(timedOut.done ? undefined : timedOut.last), 'running');
  assert.equal(collection.subscribers.size, 0);

  const controller = new AbortController();
  const cancelled = watchUntil({ collection, namespace: 'ns', name: 'x', read: () => Promise.resolve(withPhase('running')), test: until('done'), deadline: Date.now() + 5000, signal: controller.signal });
  controller.abort(new Error('activity cancelled'));
  await assert.rejects(cancelled, /activity cancelled/);
  assert.equal(collection.subscribers.size, 0);
});

test('a first look (a create) goes once the watch is open, in place of the read; its failure ends the wait', async () => {
  const collection = fakeCollection();
  let reads = 0;
  let creates = 0;
  const read = () => (reads++, Promise.resolve(withPhase('running')));
  const waiting = watchUntil({ collection, namespace: 'ns', name: 'x', read, first: () => (creates++, Promise.resolve(withPhase('created'))), test: until('done'), deadline: Date.now() + 5000 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(creates, 0, 'a create before the watch is open could miss the changes that follow it');
  collection.opened();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual({ creates, reads }, { creates: 1, reads: 0 }, "the create's answer is the first look: nothing read back");
  collection.subscribers.forEach((subscriber) => subscriber.changed(withPhase('done')));
  assert.deepEqual(await waiting, { done: true, value: 'done' });

  const refused = fakeCollection();
  refused.opened();
  const conflict = watchUntil({ collection: refused, namespace: 'ns', name: 'x', read, first: () => Promise.reject(new Error('already exists for another operation')), test: until('done'), deadline: Date.now() + 5000 });
  await assert.rejects(conflict, /already exists for another operation/);
  assert.equal(refused.subscribers.size, 0);
  assert.equal(reads, 0, 'a refused create is not retried as a read');
});
