// The worker process the benches measure (run with the worker's node flags: `node --import tsx --import
// src/worker/workflow-threads-preload.mjs bench/worker.ts`, both modes).
//
//   BENCH_WORKER_MODE=claimflow   the real worker, set up as worker.ts sets it up (the SDK's
//                                 Prometheus exporter, claimflow's metrics and /metrics server,
//                                 tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set) plus overrides;
//                                 keep in step with worker.ts
//   BENCH_WORKER_MODE=noop        the Temporal ceiling: a no-op workflow and activity, with the same
//                                 runtime telemetry, cache and concurrency settings
//   BENCH_WORKER_OVERRIDES        JSON Partial<WorkerOptions> (e.g. maxConcurrentWorkflowTaskExecutions)
//
// SIGUSR1 (diagnostics for the footprint bench; SIGUSR2 is one of the SDK's shutdown signals, and a
// listener here keeps Node from opening its inspector on SIGUSR1): the first one logs memory (after
// a GC when run with --expose-gc) and starts a CPU profile of the main thread; the second stops it,
// writes it to BENCH_PROFILE_PREFIX-<pid>-<n>.cpuprofile and logs memory again. Log lines are JSON
// with msg "bench-memory" / "bench-profile-written".
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { getHeapStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { readEnv } from '../src/config/env.js';
import { createMetrics } from '../src/observability/metrics.js';
import { serveMetrics } from '../src/observability/metrics-server.js';
import { createTracing } from '../src/observability/tracing.js';
import { createClaimflowWorker } from '../src/worker/create-worker.js';
import { workflowStackTraces } from '../src/worker/workflow-threads.js';

let profiling: Session | undefined;
let profiles = 0;
function logMemory(phase: string): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const h = getHeapStatistics();
  console.log(JSON.stringify({
    msg: 'bench-memory', phase, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers,
    nativeContexts: h.number_of_native_contexts, detachedContexts: h.number_of_detached_contexts,
  }));
}
process.on('SIGUSR1', () => {
  void (async () => {
    if (!profiling) {
      logMemory('start');
      profiling = new Session();
      profiling.connect();
      await profiling.post('Profiler.enable');
      await profiling.post('Profiler.start');
      return;
    }
    const session = profiling;
    profiling = undefined;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const path = `${process.env.BENCH_PROFILE_PREFIX ?? 'worker'}-${process.pid}-${++profiles}.cpuprofile`;
    writeFileSync(path, JSON.stringify(profile));
    logMemory('stop');
    console.log(JSON.stringify({ msg: 'bench-profile-written', path }));
  })();
});

const env = readEnv();
const mode = process.env.BENCH_WORKER_MODE ?? 'claimflow';
const overrides = JSON.parse(process.env.BENCH_WORKER_OVERRIDES ?? '{}') as Partial<WorkerOptions>;

// as worker.ts: the SDK's Prometheus exporter on port+1 when metrics are on
const metricsOn = env.WORKER_METRICS_PORT > 0;
const sdkMetrics = `127.0.0.1:${env.WORKER_METRICS_PORT + 1}`;
if (metricsOn) Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetrics, useSecondsForDurations: true } } } });

let worker: Pick<Worker, 'run'>;
let close: () => Promise<void>;
let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
if (mode === 'noop') {
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./noop-workflows.ts', import.meta.url)),
    activities: { noop: () => Promise.resolve() },
    maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivityTaskExecutions: env.WORKER_MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceTime: env.WORKER_SHUTDOWN_GRACE_MS,
    ...overrides,
  });
  close = () => connection.close();
} else {
  const metrics = createMetrics();
  const tracing = createTracing('claimflow-worker', env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const built = await createClaimflowWorker(env, overrides, { metrics, ...(tracing ? { tracing } : {}) });
  worker = built;
  close = async () => {
    await built.close();
    await tracing?.shutdown();
  };
  server = metricsOn ? await serveMetrics({ registry: metrics.registry, host: '127.0.0.1', port: env.WORKER_METRICS_PORT, sdkMetricsUrl: `http://${sdkMetrics}/metrics` }) : undefined;
}
console.log(JSON.stringify({ level: 'info', msg: 'worker running', mode, taskQueue: env.TEMPORAL_TASK_QUEUE, overrides, workflowStackTraces: workflowStackTraces(env), metrics: metricsOn ? env.WORKER_METRICS_PORT : 'off' }));
try {
  await worker.run();
} finally {
  server?.close();
  await close();
  console.log(JSON.stringify({ level: 'info', msg: 'worker stopped' }));
}
