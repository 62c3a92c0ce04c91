import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignalBatcher } from '../../src/activities/temporal/signal-batcher.js';

/** A send the test releases by hand, recording each batch it was given. */
function gatedSend() {
  const batches: string[][] = [];
  const gates: Array<{ open: () => void; fail: (error: Error) => void }> = [];
  const send = (items: string[]) => {
    batches.push(items);
    return new Promise<void>((resolve, reject) => gates.push({ open: resolve, fail: reject }));
  };
  return { batches, gates, send };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('SignalBatcher', () => {
  test('a lone item goes out at once; items arriving meanwhile leave together in the next signal', async () => {
    const { batches, gates, send } = gatedSend();
    const batcher = new SignalBatcher(send);
    const first = batcher.add('a');
    assert.deepEqual(batches, [['a']]);
    const rest = ['b', 'c', 'd'].map((item) => batcher.add(item));
    assert.equal(batches.length, 1, 'nothing else is sent while the first signal is on its way');
    gates[0]!.open();
    await first;
    await settled();
    assert.deepEqual(batches, [['a'], ['b', 'c', 'd']]);
    gates[1]!.open();
    await Promise.all(rest);
  });

  test('a failed send rejects only the items it carried, and the batcher keeps sending', async () => {
    const { batches, gates, send } = gatedSend();
    const batcher = new SignalBatcher(send);
    const first = batcher.add('a');
    const second = batcher.add('b');
    gates[0]!.fail(new Error('unavailable'));
    await assert.rejects(first, /unavailable/);
    await settled();
    gates[1]!.open();
    await second;
    const third = batcher.add('c');
    gates[2]!.open();
    await third;
    assert.deepEqual(batches, [['a'], ['b'], ['c']]);
  });

  test('batches are capped in size', async () => {
    const { batches, gates, send } = gatedSend();
    const batcher = new SignalBatcher(send, 2);
    const all = ['a', 'b', 'c', 'd', 'e'].map((item) => batcher.add(item));
    for (let round = 0; round < 3; round++) {
      await settled();
      gates[round]!.open();
    }
    await Promise.all(all);
    assert.deepEqual(batches, [['a'], ['b', 'c'], ['d', 'e']]);
  });
});
