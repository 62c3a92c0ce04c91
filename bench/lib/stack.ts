// A throwaway stack per bench (stack/index.ts with testStackConfig: temp dir, free ports, its own
// database, headless Temporal), torn down on success, failure, Ctrl-C and (through the reaper) on
// SIGKILL. The worker, the API and load generators are separate processes this module spawns, so
// their CPU and memory can be read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, fstatSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { apiUrl, databaseUrl, freePortPair, paths, type SimulatorDelays } from '../../stack/config.js';
import { repoRoot, resolveToolchain, startStack, stopStack, testStackConfig, type StackConfig } from '../../stack/index.js';
import { logContainsSince, readProcess } from '../../stack/processes.js';
import { RUN_MARKER, startReaper } from '../../stack/reaper.js';
import { logTail } from '../../stack/util.js';
import { bundleClaimflowWorkflows } from '../../src/worker/create-worker.js';
import { WORKFLOW_THREADS_PRELOAD } from '../../src/worker/workflow-threads.js';
import { breakBench, interrupted, onCleanup, sleep } from './cleanup.js';

/** Where the stack's logs are kept after teardown (the state dir goes away). */
export const LOG_KEEP_DIR = join(repoRoot, 'bench', 'results', 'logs');

export interface BenchStackOptions {
  /** Simulator delays; false = no simulator (read-path bench). */
  simulator: SimulatorDelays | false;
  /** SIMULATOR_CONCURRENCY (default 64: the stand-in must not be what limits a fleet). */
  simulatorConcurrency?: number;
  log: (line: string) => void;
  /** Names the copy of the logs kept in bench/results/logs/<name>-latest. */
  name?: string;
}

export interface BenchStack {
  config: StackConfig;
  /** What every claimflow process reads (KUBECONFIG, TEMPORAL_ADDRESS, DATABASE_URL, ...). */
  env: Record<string, string>;
  databaseUrl: string;
  apiUrl: string;
  kubeconfig: string;
  temporalAddress: string;
  /** Pids of the stack's own processes (and PostgreSQL's postmaster), for /proc. */
  pids: () => Promise<Record<string, number | undefined>>;
  /** Prebuilt workflow bundle of src/workflows (so a worker starts without webpack). */
  workflowBundle: () => Promise<string>;
  stop: () => Promise<void>;
}

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const t0 = Date.now();
  const toolchainBin = await resolveToolchain(repoRoot);
  const config = await testStackConfig(toolchainBin);
  config.label = 'bench';
  config.simulatorDelays = options.simulator === false ? undefined : options.simulator;
  config.services = { simulator: options.simulator !== false, worker: false, api: false };
  // The simulator inherits the environment (stack/util.ts cleanEnv): its concurrency.
  process.env.SIMULATOR_CONCURRENCY = String(options.simulatorConcurrency ?? 64);
  options.log(`stack: starting in ${config.stateDir} (database ${config.postgres.database})`);
  startReaper(config);
  const stopOnce = onCleanup(`stack ${config.stateDir}`, async () => {
    const started = Date.now();
    const keep = join(LOG_KEEP_DIR, `${options.name ?? 'bench'}-latest`);
    rmSync(keep, { recursive: true, force: true });
    try {
      cpSync(paths(config).logs, keep, { recursive: true });
    } catch {
      // nothing to keep
    }
    await stopStack(config);
    options.log(`stack: stopped in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  });
  const abort = new AbortController();
  const stopped = interrupted();
  const onInterrupt = () => abort.abort(stopped.reason);
  stopped.addEventListener('abort', onInterrupt, { once: true });
  let result;
  try {
    result = await startStack(config, { signal: abort.signal });
  } catch (error) {
    for (const file of ['temporal', 'kube-apiserver', 'etcd', 'simulator']) {
      const tail = logTail(paths(config).log(file), 15);
      if (tail) console.error(`---- ${file}.log ----\n${tail}`);
    }
    await stopOnce();
    throw error;
  } finally {
    stopped.removeEventListener('abort', onInterrupt);
  }
  options.log(`stack: ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const env = { ...result.env, [RUN_MARKER]: config.stateDir };
  let bundle: Promise<string> | undefined;
  let postmaster: number | undefined;
  return {
    config,
    env,
    databaseUrl: databaseUrl(config),
    apiUrl: apiUrl(config),
    kubeconfig: paths(config).kubeconfig,
    temporalAddress: result.env.TEMPORAL_ADDRESS!,
    pids: async () => {
      postmaster ??= await postmasterPid(databaseUrl(config));
      const pid = (name: string) => readProcess(config.stateDir, name)?.pid;
      return { temporal: pid('temporal'), 'kube-apiserver': pid('kube-apiserver'), etcd: pid('etcd'), simulator: pid('simulator'), postgres: postmaster };
    },
    workflowBundle: () =>
      (bundle ??= (async () => {
        const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
        const { code } = await bundleClaimflowWorkflows(quiet);
        const file = join(config.stateDir, 'workflow-bundle.js');
        writeFileSync(file, code);
        return file;
      })()),
    stop: stopOnce,
  };
}

/** The postmaster is the parent of any backend. */
async function postmasterPid(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const stat = readFileSync(`/proc/${rows[0]!.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
}

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process exits. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it is gone. */
  stop: (graceMs?: number) => Promise<void>;
}

/** A worker process, and its /metrics (claimflow's series and the SDK's). */
export type WorkerService = Service & { metricsUrl: string };

export interface SpawnOptions {
  name: string;
  /** Script path relative to the repository root, run as `node --import tsx <script>`. */
  script: string;
  args?: string[];
  env: Record<string, string>;
  /** Extra node flags, after tsx's --import: e.g. --cpu-prof, a preload. */
  nodeFlags?: string[];
  /** Wait until the log contains this line (or the process dies, or timeoutMs passes). */
  readyLine?: string;
  timeoutMs?: number;
  /** Send stdout to a pipe (readable on child.stdout) instead of the log. */
  pipeStdout?: boolean;
  /** It ends by itself (a load generator); otherwise it is a server, and its dying fails the bench. */
  exitsWhenDone?: boolean;
}

/**
 * Starts `node --import tsx <script>`: one process (tsx's CLI would add a parent), so /proc
 * shows its own CPU and RSS. Output goes to <stack>/logs/<name>.log.
 */
export async function spawnService(stack: BenchStack, options: SpawnOptions): Promise<Service> {
  const logFile = paths(stack.config).log(options.name);
  const fd = openSync(logFile, 'a');
  // A second process of the same name appends to the same log: only its own lines say it is ready.
  const ownLinesFrom = fstatSync(fd).size;
  const child = spawn(process.execPath, ['--import', 'tsx', ...(options.nodeFlags ?? []), join(repoRoot, options.script), ...(options.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, ...stack.env, ...options.env },
    stdio: ['ignore', options.pipeStdout ? 'pipe' : fd, fd],
  });
  closeSync(fd);
  let gone = false;
  let stopping = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      gone = true;
      if (!stopping && !options.exitsWhenDone) breakBench(new Error(`${options.name} exited (${signal ?? `code ${code}`}) while the bench needed it:\n${logTail(logFile, 30)}`));
      resolve(code);
    }),
  );
  const stop = async (graceMs = 30_000) => {
    stopping = true;
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const unregister = onCleanup(`process ${options.name}`, () => stop(10_000));
  void exited.then(() => unregister());
  const service: Service = { name: options.name, pid: child.pid!, child, logFile, exited, stop: async (graceMs) => { await stop(graceMs); await unregister(); } };
  if (options.readyLine) {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      if (gone) throw new Error(`${options.name} exited before it was ready:\n${logTail(logFile, 30)}`);
      if (logContainsSince(logFile, ownLinesFrom, options.readyLine)) break;
      if (Date.now() > deadline) throw new Error(`${options.name} not ready after ${options.timeoutMs ?? 120_000} ms:\n${logTail(logFile, 30)}`);
      await sleep(100);
    }
  }
  return service;
}

/** The task queue of the Temporal-ceiling worker (mode 'noop') and the no-op workflows sent to it. */
export const NOOP_TASK_QUEUE = 'bench-noop';

export interface WorkerOptions {
  /** 'claimflow': the real worker (createClaimflowWorker); 'noop': the Temporal-ceiling worker. */
  mode: 'claimflow' | 'noop';
  taskQueue?: string;
  /** Extra env, e.g. WORKER_MAX_CACHED_WORKFLOWS. */
  env?: Record<string, string>;
  /** Partial<WorkerOptions> passed to Worker.create (as JSON). */
  overrides?: Record<string, unknown>;
  nodeFlags?: string[];
  name?: string;
}

export async function startWorker(stack: BenchStack, options: WorkerOptions): Promise<WorkerService> {
  const bundle = await stack.workflowBundle();
  const metricsPort = await freePortPair();
  const service = await spawnService(stack, {
    name: options.name ?? `worker-${options.mode}`,
    script: 'bench/worker.ts',
    env: {
      BENCH_WORKER_MODE: options.mode,
      WORKER_METRICS_PORT: String(metricsPort),
      ...(options.mode === 'claimflow' ? { WORKER_WORKFLOW_BUNDLE: bundle } : {}),
      ...(options.taskQueue ? { TEMPORAL_TASK_QUEUE: options.taskQueue } : {}),
      ...(options.overrides ? { BENCH_WORKER_OVERRIDES: JSON.stringify(options.overrides) } : {}),
      LOG_LEVEL: 'warn',
      // Its hourly run (one list of Schedules and two queries when nothing is missing) would land in
      // a bench that crosses the hour, in whatever it measures then: the benches measure per instance.
      SCHEDULE_KEEPER_EVERY: 'off',
      ...options.env,
    },
    // Both modes run as the worker is deployed: its preload tunes the SDK's workflow threads.
    nodeFlags: ['--import', WORKFLOW_THREADS_PRELOAD, ...(options.nodeFlags ?? [])],
    readyLine: 'worker running',
  });
  return { ...service, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** The API process (src/api/main.ts), ready once /healthz answers. LOG_LEVEL info = production's default. */
export async function startApi(stack: BenchStack, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<Service> {
  const service = await spawnService(stack, { name: 'api', script: 'src/api/main.ts', env: { LOG_LEVEL: 'info', ...env }, nodeFlags });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${stack.apiUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return service;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`API not healthy after 60 s:\n${logTail(service.logFile, 30)}`);
    await sleep(200);
  }
}

/** Only a throwaway database on the machine's PostgreSQL (the projection bench needs nothing else). */
export async function startDatabaseOnly(log: (line: string) => void): Promise<{ databaseUrl: string; config: StackConfig }> {
  const { ensureDatabase, dropDatabase } = await import('../../stack/postgres.js');
  const config = await testStackConfig('');
  config.label = 'bench';
  await ensureDatabase(config.postgres);
  log(`database ${config.postgres.database} created`);
  onCleanup(`database ${config.postgres.database}`, async () => {
    await dropDatabase(config.postgres);
    rmSync(config.stateDir, { recursive: true, force: true });
  });
  return { databaseUrl: databaseUrl(config), config };
}
