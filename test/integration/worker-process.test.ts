import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { readyAndIdle, send, startInstance, waitForState } from '../support/lifecycle.js';
import { stopWorkers, workerProcessHarness } from '../support/worker-process.js';

// The worker as a process, started as every deployment starts it: its workflow threads leave out
// the SDK's stack trace per promise unless WORKER_WORKFLOW_STACK_TRACES=on
// (src/worker/workflow-threads-preload.mjs), and nothing else changes.

const processes = workerProcessHarness();

test('its workflow threads record no stack trace per promise unless asked; instances, Updates and queries work either way', async () => {
  const worker = await processes.spawn();
  const instance = await startInstance(processes.harness());
  await waitForState(instance, 'Ready', readyAndIdle);
  // An Update runs in the SDK's AsyncLocalStorage, which rests on promise hooks of its own.
  assert.equal((await send(instance, { kind: 'restart' })).duplicate, false);
  await waitForState(instance, 'the restart done', readyAndIdle);
  await assert.rejects(instance.handle.query('__stack_trace'), /stack traces are not enabled on this worker/);

  stopWorkers([worker]);
  await once(worker, 'exit');
  await processes.spawn({ WORKER_WORKFLOW_STACK_TRACES: 'on' });
  // The new worker replays the instance's history to answer.
  assert.match(await instance.handle.query<string>('__stack_trace'), /instanceWorkflow/);
});
