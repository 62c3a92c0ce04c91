// 6. Footprint. (a) Worker RSS and CPU with N idle instance workflows open, all in the worker's
// cache (WORKER_MAX_CACHED_WORKFLOWS >= N, the worst case), measured over an idle period; the
// baseline is the same worker process with nothing cached (restarted), in the same run.
// (b) History per instance after many operations: continue-as-new keeps each run's history bounded,
// and what each run carries into the next (the state) stays bounded too: on-demand backups are
// kept at the instance's limit (the oldest deleted when it is full), the worst case.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { readEnv } from '../src/config/env.js';
import { ON_DEMAND_BACKUPS_MAX, type Command, type InstanceState } from '../src/domain/index.js';
import { workflowThreadHeapMB } from '../src/worker/workflow-threads.js';
import { commandUpdates } from '../src/workflows/messages.js';
import { sleep } from './lib/cleanup.js';
import { counterDelta, readCounters } from './lib/counters.js';
import { fleet, startInstancesDirect, waitForReady } from './lib/fleet.js';
import { installPhaseMarks } from './lib/marks.js';
import { rssHighWaterMiB, sampleUsage, startUsageMeter, threadCpu, threadCpuDelta } from './lib/procstat.js';
import { PROFILE_DIR, summarizeProfile } from './lib/profile.js';
import { round, summarize, type Row } from './lib/report.js';
import { startBenchStack, startWorker, type BenchStack, type Service, type WorkerService } from './lib/stack.js';
import { size, type Bench, type BenchContext } from './lib/types.js';
import { readModelPool, temporalClient, waitUntil } from './lib/util.js';
import { workerEnv, workerOverrides } from './provisioning.js';

const COMMANDS: Command[] = [
  { kind: 'restart' },
  { kind: 'backup' },
  { kind: 'change-settings', deletionProtection: true },
  { kind: 'security-upgrade' },
  { kind: 'change-settings', deletionProtection: false },
];

interface MemoryLine { phase: string; rss: number; heapUsed: number; heapTotal: number; external: number; nativeContexts: number }

function memoryLines(worker: Service): MemoryLine[] {
  return readFileSync(worker.logFile, 'utf8').split('\n').filter((l) => l.includes('"bench-memory"')).map((l) => JSON.parse(l) as MemoryLine);
}

function profileFiles(worker: Service): string[] {
  return readFileSync(worker.logFile, 'utf8').split('\n').filter((l) => l.includes('"bench-profile-written"')).map((l) => (JSON.parse(l) as { path: string }).path);
}

/**
 * The collections V8 reported in the worker's log after byte `from` (with --trace-gc=true: every
 * isolate of the worker, its workflow threads' too, prints one line a collection).
 */
function collectionsLogged(worker: Service, from: number): string[] {
  return readFileSync(worker.logFile).subarray(from).toString('utf8').split('\n').filter((l) => / ms: (Scavenge|Minor|Mark-Compact|Mark-sweep)/i.test(l)).map((l) => l.trim());
}

/** The SDK's counters of what a worker runs, by what they count. */
const TASK_COUNTERS = {
  'workflow tasks': 'temporal_workflow_task_execution_latency_count',
  activities: 'temporal_activity_execution_latency_count',
  'local activities': 'temporal_local_activity_total',
  'requests to Temporal': 'temporal_request_latency_count',
};

/** How much every series of one metric moved, together. */
function movedBy(moved: Record<string, number>, metric: string): number {
  return Object.entries(moved).filter(([series]) => series.split('{')[0] === metric).reduce((sum, [, by]) => sum + by, 0);
}

/** Threads and memory split of a process, from /proc. */
function procStatus(pid: number): Record<string, string> {
  const pick = (text: string, keys: string[]) => Object.fromEntries(text.split('\n').map((l) => l.split(':')).filter(([k]) => keys.includes(k!.trim())).map(([k, v]) => [k!.trim(), v!.trim()]));
  try {
    return {
      ...pick(readFileSync(`/proc/${pid}/status`, 'utf8'), ['Threads', 'VmRSS', 'RssAnon', 'RssFile', 'VmHWM']),
      ...pick(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), ['Anonymous', 'Private_Dirty']),
    };
  } catch {
    return {};
  }
}

/**
 * Idle CPU and RSS over `seconds` (nothing else running in the worker): in tenths and by thread,
 * with the worker's counters that moved and the collections it logged. Then, outside that window,
 * the worker reports its main-thread heap after a GC and a 10 s CPU profile of its main thread.
 */
async function idleUsage(ctx: BenchContext, stack: BenchStack, worker: WorkerService, seconds: number, label: string) {
  await sleep(5000); // let the last tasks settle
  const logFrom = statSync(worker.logFile).size;
  const counters0 = await readCounters(worker.metricsUrl);
  const meter = startUsageMeter({ ...(await stack.pids()), worker: worker.pid }, 1000);
  const threads0 = threadCpu(worker.pid);
  // the worker's cores in each tenth of the window: a cost paid once shows apart from one paid all the time
  const cpuNow = () => sampleUsage({ worker: worker.pid }).worker?.cpuSeconds ?? NaN;
  const slices: number[] = [];
  for (let i = 0, last = cpuNow(); i < 10; i++) {
    await sleep((seconds * 1000) / 10);
    const now = cpuNow();
    slices.push(round((now - last) / (seconds / 10), 3));
    last = now;
  }
  const usage = meter.stop();
  const threads = threadCpuDelta(threads0, threadCpu(worker.pid), usage.seconds);
  const counters = counterDelta(counters0, await readCounters(worker.metricsUrl));
  const collections = collectionsLogged(worker, logFrom);
  ctx.log(`${label}: worker threads, cores: ${JSON.stringify(threads)}`);
  ctx.log(`${label}: worker cores in each tenth of the window: ${JSON.stringify(slices)}`);
  ctx.log(`${label}: the worker's counters that moved: ${JSON.stringify(counters)}`);
  for (const line of collections.filter((c) => !/Scavenge|Minor/.test(c))) ctx.log(`${label}: collection in the window: ${line}`);
  const status = procStatus(worker.pid);
  const before = memoryLines(worker).length;
  process.kill(worker.pid, 'SIGUSR1');
  await sleep(10_000);
  process.kill(worker.pid, 'SIGUSR1');
  await waitUntil('the worker profile', () => Promise.resolve(memoryLines(worker).length >= before + 2 && profileFiles(worker).length > 0), { timeoutMs: 60_000, log: ctx.log });
  const memory = memoryLines(worker).slice(-2);
  const file = profileFiles(worker).at(-1)!;
  const profile = existsSync(file) ? summarizeProfile(file, 15) : undefined;
  return { usage, memory, profile, threads, slices, counters, collections, status };
}

/** The size of what a run was started with: after continue-as-new, the state carried from the run before. */
async function carriedInputBytes(client: Client, workflowId: string, runId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  return payloads.reduce((bytes, payload) => bytes + (payload.data?.length ?? 0), 0);
}

async function historyAfterOperations(ctx: BenchContext, client: Client, taskQueue: string, operations: number, continueAsNewAfterEvents: number | undefined) {
  const member = { tenant: 'hist', name: `ops-${continueAsNewAfterEvents ?? 'default'}` };
  await startInstancesDirect(client, taskQueue, [member], 1, continueAsNewAfterEvents ? { continueAsNewAfterEvents } : undefined);
  const workflowId = `instance/${member.tenant}/${member.name}`;
  const handle = client.workflow.getHandle(workflowId);
  for (;;) {
    const state = await handle.query<{ phase: string } | null>('state');
    if (state?.phase === 'ready') break;
    await sleep(200);
  }
  const t0 = Date.now();
  const perOp: number[] = [];
  const send = async (command: Command) => {
    const requestId = randomUUID();
    const c0 = Date.now();
    // the handle follows continue-as-new (no run id): each update reaches the current run
    await client.workflow.getHandle(workflowId).executeUpdate(commandUpdates[command.kind], { args: [{ requestId, actor: 'tenant:bench', command }], updateId: requestId });
    perOp.push(Date.now() - c0);
  };
  let deletedBackups = 0;
  for (let i = 0; i < operations; i++) {
    const command = COMMANDS[i % COMMANDS.length]!;
    if (command.kind === 'backup') {
      const { backups } = (await handle.query<InstanceState>('state'));
      const onDemand = backups.filter((backup) => backup.purpose === 'on-demand');
      if (onDemand.length >= ON_DEMAND_BACKUPS_MAX) {
        await send({ kind: 'delete-backup', backupName: onDemand[0]!.name });
        deletedBackups++;
      }
    }
    await send(command);
    if ((i + 1) % 100 === 0) ctx.log(`history (${member.name}): ${i + 1}/${operations} operations (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await sleep(2000);
  const runs: { runId: string; status: string; historyLength: number; historySizeBytes: number }[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const d = await client.workflow.getHandle(workflowId, wf.runId).describe();
    runs.push({ runId: wf.runId, status: wf.status.name, historyLength: d.historyLength, historySizeBytes: d.historySize ?? 0 });
  }
  const current = runs.find((r) => r.status === 'RUNNING');
  const total = runs.reduce((a, r) => a + r.historyLength, 0);
  const sent = perOp.length;
  const state = await handle.query<InstanceState>('state');
  return {
    operations: sent, deletedBackups, backupsInState: state.backups.length, stateBytes: JSON.stringify(state).length,
    carriedBytes: current ? await carriedInputBytes(client, workflowId, current.runId) : null,
    continueAsNewAfterEvents: continueAsNewAfterEvents ?? null, runs: runs.length, totalEvents: total, eventsPerOperation: total / sent,
    maxEventsInOneRun: Math.max(...runs.map((r) => r.historyLength)), currentRunEvents: current?.historyLength ?? null, currentRunBytes: current?.historySizeBytes ?? null,
    maxBytesInOneRun: Math.max(...runs.map((r) => r.historySizeBytes)), operationMs: summarize(perOp), seconds: (Date.now() - t0) / 1000,
  };
}

export const footprintBench: Bench = {
  name: 'footprint',
  title: 'worker RSS/CPU with idle instance workflows open; history per instance after many operations',
  async run(ctx) {
    const n = size(ctx, 'instances', 200, 10_000);
    const idleSeconds = size(ctx, 'idle-seconds', 20, 60);
    const operations = size(ctx, 'operations', 100, 1000);
    const forcedCan = size(ctx, 'continue-as-new-after', 300, 2000);
    const stack = await startBenchStack({ name: 'footprint', simulator: { readyMs: 0, opMs: 0, backupMs: 0 }, log: ctx.log });
    const pool = await readModelPool(stack);
    await installPhaseMarks(pool);
    const client = await temporalClient(stack);
    const taskQueue = stack.config.temporalTaskQueue;
    // the shipped default (src/config/env.ts) unless --cache says otherwise
    const shipped = readEnv({}).WORKER_MAX_CACHED_WORKFLOWS;
    const cache = String(size(ctx, 'cache', shipped, shipped));
    const overrides = workerOverrides(ctx);
    // --trace-gc=true: the worker logs each collection of every isolate, and the idle windows list theirs
    const traceGc = ctx.options['trace-gc'] === 'true';
    mkdirSync(PROFILE_DIR, { recursive: true });
    const workflowHeapMB = workflowThreadHeapMB(readEnv({ WORKER_MAX_CACHED_WORKFLOWS: cache, ...workerEnv(ctx) }));
    const start = (label: string) =>
      startWorker(stack, { mode: 'claimflow', ...(overrides ? { overrides } : {}), nodeFlags: ['--expose-gc', ...(traceGc ? ['--trace-gc'] : [])], env: { WORKER_MAX_CACHED_WORKFLOWS: cache, BENCH_PROFILE_PREFIX: join(PROFILE_DIR, `footprint-${label}`), ...workerEnv(ctx) } });

    // baseline: the same worker, nothing cached, idle
    let worker = await start('empty');
    const emptyIdle = await idleUsage(ctx, stack, worker, idleSeconds, 'empty');
    const empty = emptyIdle.usage;
    ctx.log(`empty worker: RSS ${empty.processes.worker?.rssEndMiB} MiB, ${empty.processes.worker?.cores} cores idle`);

    ctx.log(`provisioning ${n} instances (worker cache ${cache})`);
    const t0 = Date.now();
    // In waves: thousands of new workflows at once queue their first tasks on the normal task
    // queue, which the SDK polls with one poller while its sticky queue has a backlog (BENCHMARKS.md).
    const members = fleet(Array.from({ length: 20 }, (_, i) => `fp-t${i}`), n, 'db');
    const wave = size(ctx, 'wave', 250, 250);
    for (let started = 0; started < n; started += wave) {
      await startInstancesDirect(client, taskQueue, members.slice(started, started + wave), 50);
      const stillComingUpAtMost = 2 * wave;
      await waitForReady(pool, Math.max(0, started + wave - stillComingUpAtMost), ctx.log, 600_000);
    }
    await waitForReady(pool, n, ctx.log, Math.max(600_000, n * 1000));
    const provisionSeconds = (Date.now() - t0) / 1000;
    ctx.log(`${n} Ready in ${provisionSeconds.toFixed(0)} s; measuring ${idleSeconds} s idle`);
    const fullIdle = await idleUsage(ctx, stack, worker, idleSeconds, 'full');
    const full = fullIdle.usage;
    // the provisioning's burst included, which the idle window's own peak can miss (BENCHMARKS.md)
    const fullHighWaterMiB = rssHighWaterMiB(worker.pid);
    ctx.log(`with ${n} open: RSS ${full.processes.worker?.rssEndMiB} MiB, ${full.processes.worker?.cores} cores idle; at most ${fullHighWaterMiB} MiB since the worker started`);
    await worker.stop();

    // (b) history after many operations, with Temporal's suggestion and with a forced threshold
    worker = await start('history');
    // two instances side by side (each gets its operations one after another)
    const [natural, forced] = await Promise.all([
      historyAfterOperations(ctx, client, taskQueue, operations, undefined),
      historyAfterOperations(ctx, client, taskQueue, operations, forcedCan),
    ]);
    await worker.stop();

    const w = (u: typeof full) => u.processes.worker!;
    const cached = Math.min(n, Number(cache));
    const perWorkflowKiB = ((w(full).rssEndMiB - w(empty).rssEndMiB) * 1024) / cached;
    const heapMiB = (idle: typeof fullIdle) => round((idle.memory.at(-1)?.heapUsed ?? NaN) / 2 ** 20, 1);
    const heapPerWorkflowKiB = ((fullIdle.memory.at(-1)?.heapUsed ?? NaN) - (emptyIdle.memory.at(-1)?.heapUsed ?? NaN)) / 1024 / cached;
    // The steady cost is the median tenth of the window: polling would show in every tenth, while
    // one collection of what the provisioning left (BENCHMARKS.md) shows in one.
    const steady = (idle: typeof fullIdle) => summarize(idle.slices).p50;
    const steadyAdded = round(steady(fullIdle) - steady(emptyIdle), 3);
    // what the worker ran in the full window, by the SDK's own counters (long polls left out: an idle worker polls)
    const ranWhileIdle = Object.fromEntries(Object.entries(TASK_COUNTERS).map(([what, name]) => [what, movedBy(fullIdle.counters, name)]));
    const ranNothing = Object.values(ranWhileIdle).every((moved) => moved === 0);
    const rows: Row[] = [
      { run: 'worker, nothing cached, idle', workflows: 0, 'rss MiB': w(empty).rssEndMiB, 'rss peak MiB': w(empty).rssPeakMiB, 'heap after GC MiB': heapMiB(emptyIdle), 'idle worker cores': w(empty).cores, 'steady worker cores': steady(emptyIdle), 'idle temporal cores': empty.processes.temporal?.cores, 'other cores': empty.machine.otherCores },
      { run: `worker, ${n} idle instances open, ${cached} cached`, workflows: n, 'rss MiB': w(full).rssEndMiB, 'rss peak MiB': w(full).rssPeakMiB, 'rss high-water MiB': fullHighWaterMiB, 'heap after GC MiB': heapMiB(fullIdle), 'heap KiB per workflow': round(heapPerWorkflowKiB, 1), 'idle worker cores': w(full).cores, 'steady worker cores': steady(fullIdle), 'idle temporal cores': full.processes.temporal?.cores, 'other cores': full.machine.otherCores, 'KiB per cached workflow': round(perWorkflowKiB, 1), 'extrapolated all cached MiB': round(w(empty).rssEndMiB + (perWorkflowKiB * n) / 1024, 0) },
      { run: `history after ${operations} ops, Temporal's suggestion`, runs: natural.runs, 'events total': natural.totalEvents, 'events/op': round(natural.eventsPerOperation, 1), 'max events in a run': natural.maxEventsInOneRun, 'current run events': natural.currentRunEvents, 'max run KiB': round(natural.maxBytesInOneRun / 1024, 0), 'carried KiB': round((natural.carriedBytes ?? NaN) / 1024, 1), 'backups in state': natural.backupsInState, 'op p50 ms': natural.operationMs.p50 },
      { run: `history after ${operations} ops, continueAsNewAfterEvents ${forcedCan}`, runs: forced.runs, 'events total': forced.totalEvents, 'events/op': round(forced.eventsPerOperation, 1), 'max events in a run': forced.maxEventsInOneRun, 'current run events': forced.currentRunEvents, 'max run KiB': round(forced.maxBytesInOneRun / 1024, 0), 'carried KiB': round((forced.carriedBytes ?? NaN) / 1024, 1), 'backups in state': forced.backupsInState, 'op p50 ms': forced.operationMs.p50 },
    ];
    // at the window's end: its start can still hold the provisioning's garbage, which V8's memory
    // reducer collects within the window (BENCHMARKS.md); the peak is reported beside it
    const rssGiB = w(full).rssEndMiB / 1024;
    return {
      rows,
      targets: [
        ...(n >= 10_000 ? [{ what: `worker RSS with ${n} idle workflows`, target: '< 1 GiB', measured: `${w(full).rssEndMiB} MiB at the idle window's end (at most ${w(full).rssPeakMiB} MiB within it, ${fullHighWaterMiB} MiB since the worker started)`, met: rssGiB < 1 }] : []),
        // against the empty worker of the same run: what the open instances themselves cost at idle
        {
          what: `idle CPU added by ${n} open instances (no per-instance polling)`,
          target: 'near zero (< 0.01 cores over the empty worker, steady)',
          measured: `${steadyAdded} cores steady (median tenth ${steady(fullIdle)} against ${steady(emptyIdle)}); over the whole window ${round(w(full).cores - w(empty).cores, 3)} (${w(full).cores} against ${w(empty).cores})`,
          met: steadyAdded < 0.01,
        },
        { what: `work run while ${n} instances are open and idle`, target: 'none: no task, activity or request but the long polls', measured: Object.entries(ranWhileIdle).map(([what, moved]) => `${moved} ${what}`).join(', '), met: ranNothing },
        { what: 'history per run bounded by continue-as-new', target: `<= ${forcedCan} + one operation`, measured: `max ${forced.maxEventsInOneRun} events in ${forced.runs} runs`, met: forced.maxEventsInOneRun <= forcedCan + 60 },
        { what: 'state carried by continue-as-new bounded', target: `<= ${ON_DEMAND_BACKUPS_MAX} on-demand backups in the state`, measured: `${forced.backupsInState} backups, ${round((forced.carriedBytes ?? NaN) / 1024, 1)} KiB carried`, met: forced.backupsInState <= ON_DEMAND_BACKUPS_MAX },
      ],
      details: { n, workerCache: Number(cache), cached, workflowHeapMB, rssHighWaterMiB: fullHighWaterMiB, idleSeconds, provisionSeconds, empty, full, perWorkflowKiB, heapPerWorkflowKiB, memory: { empty: emptyIdle.memory, full: fullIdle.memory }, idleProfile: { empty: emptyIdle.profile, full: fullIdle.profile }, procStatus: { empty: emptyIdle.status, full: fullIdle.status }, threadCores: { empty: emptyIdle.threads, full: fullIdle.threads }, coresBySlice: { empty: emptyIdle.slices, full: fullIdle.slices }, countersMoved: { empty: emptyIdle.counters, full: fullIdle.counters }, collectionsInWindow: { empty: emptyIdle.collections, full: fullIdle.collections }, natural, forced },
      notes: [
        `Idle: ${idleSeconds} s with no commands, starting 5 s after the last Ready. RSS is the worker's resident set (/proc), CPU its user+system time over that period (all threads); "steady" is the median of the window's ten tenths, so that one collection of the provisioning's garbage inside the window is told apart from a cost paid all the time (--trace-gc=true lists the collections).`,
        `"rss high-water" is the worker's VmHWM when its idle window ends: the most it held since it started, the provisioning's burst included. Its workflow threads' heap cap (WORKER_WORKFLOW_HEAP_MB): ${workflowHeapMB}.`,
        `Worker cache ${cache} (WORKER_MAX_CACHED_WORKFLOWS): ${cached} of the ${n} workflows stay in memory; the others are evicted and replayed on their next task. "extrapolated all cached" is NOT measured.`,
        'History: one instance receives the operations one after another (restart, backup, settings, security upgrade, settings) through Temporal Updates; simulator delays 0.',
        `Once it keeps ${ON_DEMAND_BACKUPS_MAX} on-demand backups (its limit), each backup is preceded by the deletion of the oldest (counted as an operation). "carried KiB" is the input of the current run: the state (and the request ids seen) continue-as-new carried over.`,
      ],
    };
  },
};
