// The API's /metrics and request tracing. Tracing registers a global OpenTelemetry provider for the
// whole process, so it is only ever configured here: spans go to a fake OTLP/HTTP collector.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import pg from 'pg';
import { buildApp } from '../../src/api/app.js';
import type { CreatedBody } from '../../src/api/schemas.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createTracing, type Tracing } from '../../src/observability/tracing.js';
import { apiClient, eventually, settled, startApiHarness, type ApiHarness } from '../support/api.js';
import { uniqueName } from '../support/env.js';
import { startCollector, type CollectedSpan } from '../support/otlp-collector.js';
import { sample } from '../support/prometheus.js';

let h: ApiHarness;
let collector: Awaited<ReturnType<typeof startCollector>>;
let tracing: Tracing;

before(async () => {
  collector = await startCollector();
  tracing = createTracing('claimflow-api-test', collector.url)!;
  h = await startApiHarness({ metrics: createMetrics(), tracer: trace.getTracer('claimflow-api') }, { tracing });
});
after(async () => {
  await h?.stop();
  await tracing?.shutdown();
  await collector.close();
});

const baseUrl = () => `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;

test('/metrics counts requests by method, route template and status, without authentication', async () => {
  const { token } = await h.tenant('metrics');
  const call = apiClient(h.app, token);
  const missing = uniqueName('db');
  for (let i = 0; i < 3; i++) assert.equal((await call('GET', `/v1/instances/${missing}`)).status, 404);
  assert.equal((await call('GET', '/v1/instances')).status, 200);
  assert.equal((await apiClient(h.app)('GET', '/v1/instances')).status, 401);

  const response = await fetch(`${baseUrl()}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  assert.equal(sample(text, 'claimflow_api_request_duration_seconds_count{method="GET",route="/v1/instances/:name",status="404"}'), 3);
  assert.ok(sample(text, 'claimflow_api_request_duration_seconds_sum{method="GET",route="/v1/instances/:name",status="404"}') > 0);
  assert.ok(sample(text, 'claimflow_api_request_duration_seconds_count{method="GET",route="/v1/instances",status="200"}') >= 1);
  assert.ok(sample(text, 'claimflow_api_request_duration_seconds_count{method="GET",route="/v1/instances",status="401"}') >= 1);
  assert.ok(!text.includes(missing), 'labels hold route templates, never URLs');
  assert.equal(sample(text, 'claimflow_api_server_errors_total'), 0, 'a 4xx is the caller\'s, not a server error');
  assert.match(text, /^process_cpu_user_seconds_total /m, 'and the process metrics');

  const spec = (await apiClient(h.app)<{ paths: Record<string, unknown> }>('GET', '/openapi.json')).body;
  assert.ok(spec.paths['/metrics']);
});

test('a 5xx is counted in claimflow_api_server_errors_total, which an alert watches', async () => {
  const { token } = await h.tenant('fives');
  // PostgreSQL unreachable: the API answers 503 (even the token cannot be checked)
  const deadPool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:9/claimflow', connectionTimeoutMillis: 1_000 });
  const metrics = createMetrics();
  const noDatabase = buildApp({ client: h.client, pool: deadPool, taskQueue: h.taskQueue, metrics });
  try {
    for (let i = 0; i < 2; i++) assert.equal((await apiClient(noDatabase, token)('GET', '/v1/instances')).status, 503);
    const text = await metrics.registry.metrics();
    assert.equal(sample(text, 'claimflow_api_server_errors_total'), 2);
    assert.equal(sample(text, 'claimflow_api_request_duration_seconds_count{method="GET",route="/v1/instances",status="503"}'), 2);
  } finally {
    await noDatabase.close();
    await deadPool.end();
  }
});

test('a request is a span; the workflow start it makes is its child, in the same trace', async () => {
  const { token } = await h.tenant('traced');
  const name = uniqueName('db');
  const response = await fetch(`${baseUrl()}/v1/instances`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, version: '15.10', size: 'small' }),
  });
  assert.equal(response.status, 202);
  const created = (await response.json()) as CreatedBody;
  assert.equal((await settled(apiClient(h.app, token), name, created.operation.id)).status, 'succeeded');

  await tracing.provider.forceFlush();
  const [request, start] = await eventually('the request span and its StartWorkflow span', async () => {
    await tracing.provider.forceFlush();
    const requestSpan = collector.spans.find((span) => span.name === 'POST /v1/instances');
    const startSpan = collector.spans.find((span) => span.name === 'StartWorkflow:instanceWorkflow' && span.traceId === requestSpan?.traceId);
    return requestSpan && startSpan ? ([requestSpan, startSpan] as const) : undefined;
  }, 20_000);
  assert.equal(start.traceId, request.traceId);
  assert.equal(start.parentSpanId, request.spanId, 'the Temporal call ran with the request span active');
  const attribute = (span: CollectedSpan, key: string) => span.attributes.find((candidate) => candidate.key === key)?.value;
  assert.deepEqual(attribute(request, 'http.route'), { stringValue: '/v1/instances' });
  assert.deepEqual(attribute(request, 'http.response.status_code'), { intValue: 202 });

  // A caller's W3C traceparent is continued.
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const read = await fetch(`${baseUrl()}/v1/instances/${name}`, {
    headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  assert.equal(read.status, 200);
  const continued = await eventually('the span of the traced read', async () => {
    await tracing.provider.forceFlush();
    return collector.spans.find((span) => span.traceId === traceId);
  }, 20_000);
  assert.equal(continued.name, 'GET /v1/instances/:name');
  assert.equal(continued.parentSpanId, '00f067aa0ba902b7');
});
