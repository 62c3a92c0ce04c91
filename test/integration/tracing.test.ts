import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { Client } from '@temporalio/client';
import { createTracing, type Tracing } from '../../src/observability/tracing.js';
import { createClaimflowWorker } from '../../src/worker/create-worker.js';
import { startCollector } from '../support/otlp-collector.js';
import { eventually, startHarness, startInstance, waitForState, workerEnv, type Harness } from '../support/lifecycle.js';

// With an OTLP endpoint configured, a caller's span, the workflow it starts and every activity
// share one trace, exported to the collector.

let harness: Harness;
let collector: Awaited<ReturnType<typeof startCollector>>;
let tracing: Tracing;

before(async () => {
  collector = await startCollector();
  tracing = createTracing('claimflow-test', collector.url)!;
  harness = await startHarness({ inProcessWorker: false });
});
after(async () => {
  await harness.stop();
  await tracing.shutdown();
  await collector.close();
});

test('one trace from the caller through the workflow to its activities', async () => {
  const worker = await createClaimflowWorker(workerEnv(harness.taskQueue), {}, { tracing });
  const running = worker.run();
  try {
    const client = new Client({ connection: harness.client.connection, namespace: harness.client.options.namespace, plugins: [tracing.plugin] });
    const traceId = await trace.getTracer('test').startActiveSpan('POST /v1/instances', async (root) => {
      const instance = await startInstance({ ...harness, client });
      await waitForState(instance, 'Ready', (state) => state.phase === 'ready' && !state.runningOperation);
      root.end();
      return root.spanContext().traceId;
    });
    await tracing.provider.forceFlush();
    const names = await eventually('the activity spans', () => {
      const inTrace = collector.spans.filter((span) => span.traceId === traceId).map((span) => span.name);
      // The workflow's own run span ends with the workflow, which lives as long as the instance.
      return ['StartWorkflow:instanceWorkflow', 'StartActivity:applyClaim', 'RunActivity:applyClaim', 'RunActivity:waitForClaimReady', 'RunActivity:projectEventsLocally'].every((name) => inTrace.includes(name))
        ? inTrace
        : undefined;
    }, 20_000);
    assert.ok(names.includes('POST /v1/instances'));
  } finally {
    worker.shutdown();
    await running;
    await worker.close();
  }
});
