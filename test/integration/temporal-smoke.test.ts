// The harness's Temporal dev server works for what claimflow needs: a worker created here bundles
// a workflow and runs it to completion, and the namespace is configured the way the stack promises
// (30-day retention, the Claimflow* keyword search attributes).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { smokeGreeting } from '../fixtures/smoke-workflows.js';
import { testEnv, uniqueName } from '../support/env.js';

// temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (@temporalio/proto is not a direct dependency)
const INDEXED_VALUE_TYPE_KEYWORD = 2;

let env: TestWorkflowEnvironment | undefined;

before(async () => {
  // INFO would print the webpack bundle report and every worker state change
  Runtime.install({ logger: new DefaultLogger('WARN') });
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: testEnv.temporalAddress, namespace: testEnv.temporalNamespace });
});

after(async () => {
  await env?.teardown();
});

test('a bundled workflow runs to completion on the dev server', async () => {
  const e = env!;
  const taskQueue = uniqueName('smoke'); // own queue: never picks up another test's workflows
  const worker = await Worker.create({
    connection: e.nativeConnection,
    namespace: testEnv.temporalNamespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../fixtures/smoke-workflows.ts', import.meta.url)),
  });
  const result = await worker.runUntil(
    e.client.workflow.execute<typeof smokeGreeting>('smokeGreeting', { taskQueue, workflowId: uniqueName('smoke-wf'), args: ['claimflow'] }),
  );
  assert.equal(result, `hello claimflow from ${testEnv.temporalNamespace}`);
});

test('the namespace keeps closed workflows 30 days', async () => {
  const ns = await env!.client.workflowService.describeNamespace({ namespace: testEnv.temporalNamespace });
  const seconds = Number(ns.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
  assert.equal(seconds, 30 * 24 * 3600);
});

test('the Claimflow search attributes are registered as Keyword', async () => {
  const { customAttributes } = await env!.client.connection.operatorService.listSearchAttributes({ namespace: testEnv.temporalNamespace });
  for (const name of ['ClaimflowTenant', 'ClaimflowInstance', 'ClaimflowPhase', 'ClaimflowMaintenanceWindow']) {
    assert.equal(customAttributes?.[name], INDEXED_VALUE_TYPE_KEYWORD, `${name} should be a Keyword search attribute`);
  }
});
