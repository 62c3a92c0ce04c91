import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { WORKER_NODE_FLAGS, cacheThatFits, workflowHeapWarning, workflowStackTraces, workflowThreadHeapMB } from '../../src/worker/workflow-threads.js';

// The worker's preload, in a thread started as the SDK starts its workflow threads (from a file):
// it must keep finding the SDK's hook point, or an upgrade would quietly bring back the stack
// trace per promise.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'claimflow-threads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Whether the SDK's promise hook gets installed in a thread of a process started with the worker's flags. */
async function promiseHookInstalledInThread(setting: 'on' | 'off'): Promise<boolean> {
  const vmShared = createRequire(import.meta.url).resolve('@temporalio/worker/lib/workflow/vm-shared.js');
  const thread = join(dir, 'thread.cjs');
  writeFileSync(thread, [
    `const { globalHandlers } = require(${JSON.stringify(vmShared)});`,
    'globalHandlers.install();',
    "require('node:worker_threads').parentPort.postMessage(globalHandlers.promiseHookInstalled);",
  ].join('\n'));
  const main = `new (require('node:worker_threads').Worker)(${JSON.stringify(thread)}).on('message', (installed) => console.log(installed));`;
  const { stdout } = await run(process.execPath, [...WORKER_NODE_FLAGS, '-e', main], { env: { ...process.env, WORKER_WORKFLOW_STACK_TRACES: setting } });
  return JSON.parse(stdout.trim()) as boolean;
}

test('a workflow thread of the worker installs no stack trace hook, unless WORKER_WORKFLOW_STACK_TRACES=on', async () => {
  assert.equal(await promiseHookInstalledInThread('off'), false);
  assert.equal(await promiseHookInstalledInThread('on'), true);
});

test('the worker says what its threads do: off only when the preload is there and the setting is off', () => {
  assert.equal(workflowStackTraces({ WORKER_WORKFLOW_STACK_TRACES: 'off' }, WORKER_NODE_FLAGS), 'off');
  assert.equal(workflowStackTraces({ WORKER_WORKFLOW_STACK_TRACES: 'on' }, WORKER_NODE_FLAGS), 'on');
  assert.equal(workflowStackTraces({ WORKER_WORKFLOW_STACK_TRACES: 'off' }, ['--import', 'tsx']), 'on');
});

/** The V8 heap limits, in MiB, of a process's main thread and of a thread it starts after capWorkflowThreadHeap(cap). */
async function heapLimitsAfterCap(cap: number | 'off'): Promise<{ main: number; thread: number }> {
  const threadsModule = new URL('../../src/worker/workflow-threads.ts', import.meta.url).href;
  const main = [
    "const { getHeapStatistics } = require('node:v8');",
    "const { Worker } = require('node:worker_threads');",
    'const limit = () => getHeapStatistics().heap_size_limit / 2 ** 20;',
    `import(${JSON.stringify(threadsModule)}).then(({ capWorkflowThreadHeap }) => {`,
    `  capWorkflowThreadHeap(${JSON.stringify(cap)});`,
    "  new Worker(\"require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20)\", { eval: true })",
    "    .on('message', (thread) => console.log(JSON.stringify({ main: limit(), thread })));",
    '});',
  ].join('\n');
  const { stdout } = await run(process.execPath, [...WORKER_NODE_FLAGS, '-e', main]);
  return JSON.parse(stdout.trim()) as { main: number; thread: number };
}

// WORKER_WORKFLOW_HEAP_MB rests on V8 reading --max-old-space-size when it makes an isolate: the
// threads the SDK makes after the cap get it, the main thread keeps its own.
test('capWorkflowThreadHeap caps the threads started after it, not the main thread', async () => {
  const capped = await heapLimitsAfterCap(200);
  // V8's limit is the old space plus the young generation's few tens of MiB
  assert.ok(capped.thread >= 200 && capped.thread < 300, `a thread's limit: ${capped.thread} MiB`);
  assert.ok(capped.main > 300, `the main thread's limit: ${capped.main} MiB`);
  const uncapped = await heapLimitsAfterCap('off');
  assert.equal(uncapped.thread, uncapped.main);
  assert.ok(uncapped.thread > 300);
});

test('unset, the heap cap is sized from the workflow cache: 512 MiB for the shipped cache, more for a larger one', () => {
  assert.equal(workflowThreadHeapMB({ WORKER_MAX_CACHED_WORKFLOWS: 600 }), 512);
  assert.equal(workflowThreadHeapMB({ WORKER_MAX_CACHED_WORKFLOWS: 0 }), 512);
  const forLargeCache = workflowThreadHeapMB({ WORKER_MAX_CACHED_WORKFLOWS: 2500 });
  assert.ok(typeof forLargeCache === 'number' && forLargeCache > 512 && cacheThatFits(forLargeCache) >= 2500, `${forLargeCache}`);
  assert.equal(workflowThreadHeapMB({ WORKER_MAX_CACHED_WORKFLOWS: 2500, WORKER_WORKFLOW_HEAP_MB: 'off' }), 'off');
  assert.equal(workflowThreadHeapMB({ WORKER_MAX_CACHED_WORKFLOWS: 2500, WORKER_WORKFLOW_HEAP_MB: 640 }), 640);
});

test('the worker warns when its workflow cache may not fit a heap cap set by hand, and names both settings', () => {
  // the manifests' settings fit, with room; production's 1,024 MiB holds over 2,000
  assert.equal(workflowHeapWarning({ WORKER_MAX_CACHED_WORKFLOWS: 600, WORKER_WORKFLOW_HEAP_MB: 512 }), undefined);
  assert.ok(cacheThatFits(512) >= 1000 && cacheThatFits(1024) >= 2000, `${cacheThatFits(512)}, ${cacheThatFits(1024)}`);
  assert.equal(workflowHeapWarning({ WORKER_MAX_CACHED_WORKFLOWS: 5000, WORKER_WORKFLOW_HEAP_MB: 'off' }), undefined);
  assert.equal(workflowHeapWarning({ WORKER_MAX_CACHED_WORKFLOWS: 5000 }), undefined);
  const warning = workflowHeapWarning({ WORKER_MAX_CACHED_WORKFLOWS: 3000, WORKER_WORKFLOW_HEAP_MB: 512 });
  assert.match(warning ?? '', /WORKER_MAX_CACHED_WORKFLOWS=3000 .*WORKER_WORKFLOW_HEAP_MB=512/);
  const suggested = Number(/set WORKER_WORKFLOW_HEAP_MB to (\d+)/.exec(warning ?? '')?.[1]);
  assert.ok(cacheThatFits(suggested) >= 3000, `the suggested ${suggested} MiB holds ${cacheThatFits(suggested)}`);
});
