import { Runtime } from '@temporalio/worker';
import { readEnv, scheduledTaskQueue } from './src/config/env.js';
import { createMetrics } from './src/observability/metrics.js';
import { serveMetrics } from './src/observability/metrics-server.js';
import { createTracing } from './src/observability/tracing.js';
import { createClaimflowWorker } from './src/worker/create-worker.js';
import { workflowHeapWarning, workflowStackTraces, workflowThreadHeapMB } from './src/worker/workflow-threads.js';

// The claimflow worker process. SIGTERM/SIGINT start a graceful shutdown (the SDK's default
// shutdown signals): no new tasks are taken, running activities get WORKER_SHUTDOWN_GRACE_MS to
// finish, and anything cut short is retried by another worker.

const env = readEnv();
const heapWarning = workflowHeapWarning(env);
if (heapWarning) console.log(JSON.stringify({ level: 'warn', msg: heapWarning }));
const metricsOn = env.WORKER_METRICS_PORT > 0;
const sdkMetrics = `${env.WORKER_METRICS_HOST === '0.0.0.0' ? '127.0.0.1' : env.WORKER_METRICS_HOST}:${env.WORKER_METRICS_PORT + 1}`;
if (metricsOn) Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetrics, useSecondsForDurations: true } } } });
const metrics = createMetrics();
const tracing = createTracing('claimflow-worker', env.OTEL_EXPORTER_OTLP_ENDPOINT);
const worker = await createClaimflowWorker(env, {}, { metrics, ...(tracing ? { tracing } : {}) });
const server = metricsOn
  ? await serveMetrics({ registry: metrics.registry, host: env.WORKER_METRICS_HOST, port: env.WORKER_METRICS_PORT, sdkMetricsUrl: `http://${sdkMetrics}/metrics` })
  : undefined;
console.log(JSON.stringify({ level: 'info', msg: 'worker running', taskQueue: env.TEMPORAL_TASK_QUEUE, scheduledTaskQueue: scheduledTaskQueue(env), namespace: env.TEMPORAL_NAMESPACE, temporal: env.TEMPORAL_ADDRESS, workflowStackTraces: workflowStackTraces(env), workflowHeapMB: workflowThreadHeapMB(env), metrics: metricsOn ? `http://${env.WORKER_METRICS_HOST}:${env.WORKER_METRICS_PORT}/metrics` : 'off' }));
try {
  await worker.run();
} finally {
  server?.close();
  await worker.close();
  await tracing?.shutdown();
  console.log(JSON.stringify({ level: 'info', msg: 'worker stopped' }));
}
