import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { Client } from '@temporalio/client';
import { createTracing, type Tracing } from '../../src/observability/tracing.js';
import { createClaimflowWorker } from '../../src/worker/create-worker.js';
import { eventually, startHarness, startInstance, waitForState, workerEnv, type Harness } from '../support/lifecycle.js';

// With an OTLP endpoint configured, a caller's span, the workflow it starts and every activity
// share one trace, exported to the collector.

interface Span {
  traceId: string;
  name: string;
}

let harness: Harness;
let collector: Server;
let tracing: Tracing;
const spans: Span[] = [];

before(async () => {
  collector = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(raw) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] };
      for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const address = collector.address();
  tracing = createTracing('claimflow-test', `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`)!;
  harness = await startHarness({ inProcessWorker: false });
});
after(async () => {
  await harness.stop();
  await tracing.shutdown();
  await new Promise((resolve) => collector.close(resolve));
});

test('one trace from the caller through the workflow to its activities', async () => {
  const { worker, close } = await createClaimflowWorker(workerEnv(harness.taskQueue), {}, { tracing });
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
      const inTrace = spans.filter((span) => span.traceId === traceId).map((span) => span.name);
      // The workflow's own run span ends with the workflow, which lives as long as the instance.
      return ['StartWorkflow:instanceWorkflow', 'StartActivity:applyClaim', 'RunActivity:applyClaim', 'RunActivity:waitForClaimReady', 'RunActivity:projectEvents'].every((name) => inTrace.includes(name))
        ? inTrace
        : undefined;
    }, 20_000);
    assert.ok(names.includes('POST /v1/instances'));
  } finally {
    worker.shutdown();
    await running;
    await close();
  }
});
