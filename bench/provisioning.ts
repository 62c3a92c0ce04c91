// 1. Fleet provisioning: N instances created through the API, concurrently, until each is Ready in
// the read model (simulator ready delay 0). Baseline in the same run on the same server: N
// workflows that each run the same number of no-op activities as one provisioning (the Temporal
// ceiling of this machine), started with the same concurrency; and, to split Temporal's CPU, the
// instances' Schedules alone (created with no worker running).
import type { Client } from '@temporalio/client';
import { upsertInstanceSchedules } from '../src/activities/temporal/schedules.js';
import { activityCounts } from './lib/history.js';
import { phaseMarks, installPhaseMarks } from './lib/marks.js';
import { createThroughApi, fleet, quietMaintenanceWindow, waitForReady } from './lib/fleet.js';
import { startUsageMeter, totalCpuSeconds } from './lib/procstat.js';
import { cpuProfileFlags, profilesOf, summarizeProfile, type ProfileSummary } from './lib/profile.js';
import { round, summarize, type Row } from './lib/report.js';
import { NOOP_TASK_QUEUE, startApi, startBenchStack, startWorker, type BenchStack } from './lib/stack.js';
import { size, type Bench, type BenchContext } from './lib/types.js';
import { pool as inParallel, readModelPool, temporalClient, tokensFor, waitUntil } from './lib/util.js';

type Steps = { activities: number; localActivities: number };
const stepsText = (steps: Steps) => `${steps.activities} ${steps.activities === 1 ? 'activity' : 'activities'} + ${steps.localActivities} local`;

export function workerOverrides(ctx: BenchContext): Record<string, unknown> | undefined {
  return ctx.options['worker-options'] ? (JSON.parse(ctx.options['worker-options']) as Record<string, unknown>) : undefined;
}

/** Worker env from --worker-env='{"WORKER_MAX_CACHED_WORKFLOWS":"5000"}'. */
export function workerEnv(ctx: BenchContext): Record<string, string> {
  return ctx.options['worker-env'] ? (JSON.parse(ctx.options['worker-env']) as Record<string, string>) : {};
}

/** How many activities, and of them local ones, one provisioning runs. */
async function activitiesPerProvisioning(client: Client, workflowId: string): Promise<Steps> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const { activities, localActivities } = activityCounts(history.events ?? []);
  return { activities, localActivities };
}

async function runCeiling(ctx: BenchContext, stack: BenchStack, client: Client, n: number, steps: Steps, concurrency: number, prefix: string) {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const startedAt = new Map<string, number>();
  const t0 = Date.now();
  await inParallel(ids, concurrency, async (id) => {
    startedAt.set(id, Date.now());
    await client.workflow.start('noopChainWorkflow', { workflowId: id, taskQueue: NOOP_TASK_QUEUE, args: [steps.activities, steps.localActivities] });
  });
  const query = `WorkflowType = 'noopChainWorkflow' AND WorkflowId STARTS_WITH '${prefix}-' AND ExecutionStatus = 'Completed'`;
  let done = 0;
  await waitUntil(`${n} no-op workflows to complete`, async () => (done = (await client.workflow.count(query)).count) >= n, {
    timeoutMs: Math.max(120_000, n * 1000),
    everyMs: 200,
    progress: () => `${done} completed`,
    log: ctx.log,
  });
  const closed: number[] = [];
  let lastClose = 0;
  for await (const wf of client.workflow.list({ query })) {
    const close = wf.closeTime?.getTime() ?? NaN;
    lastClose = Math.max(lastClose, close);
    closed.push(close - startedAt.get(wf.workflowId)!);
  }
  return { t0, wallSeconds: (lastClose - t0) / 1000, completeMs: summarize(closed) };
}

/**
 * Temporal's part of one provisioning that the ceiling does not have: its Schedules. The same
 * upsert as the instance's activity (its window's Schedule, made by the first instance in that
 * window; no backup policy), for n instances at the same concurrency, no worker.
 */
async function runSchedulesAlone(ctx: BenchContext, client: Client, pids: Record<string, number | undefined>, members: { tenant: string; name: string }[], concurrency: number) {
  const meter = startUsageMeter({ ...pids, bench: process.pid });
  const t0 = Date.now();
  await inParallel(members, concurrency, async ({ tenant, name }) =>
    upsertInstanceSchedules(client, {
      tenant, name, instanceWorkflowId: `instance/${tenant}/${name}`, taskQueue: 'bench-schedules-alone', instanceTaskQueue: 'bench-schedules-alone',
      maintenanceWindow: quietMaintenanceWindow({ tenant, name }), provisioning: true,
    }),
  );
  const wallSeconds = (Date.now() - t0) / 1000;
  const usage = meter.stop();
  ctx.log(`schedules alone: ${members.length} instances' Schedules upserted in ${wallSeconds.toFixed(1)} s`);
  return { wallSeconds, usage };
}

export const provisioningBench: Bench = {
  name: 'provisioning',
  title: 'fleet provisioning through the API vs the Temporal ceiling (no-op activities)',
  async run(ctx) {
    const n = size(ctx, 'instances', 100, 1000);
    const concurrency = size(ctx, 'concurrency', 50, 50);
    const tenantCount = size(ctx, 'tenants', 10, 10);
    const warmup = size(ctx, 'warmup', 10, 20);
    const profile = ctx.options.profile === 'true';
    const overrides = workerOverrides(ctx);
    const env = workerEnv(ctx);

    const stack = await startBenchStack({ name: 'provisioning', simulator: { readyMs: 0, opMs: 300, backupMs: 300 }, log: ctx.log });
    const pool = await readModelPool(stack);
    await installPhaseMarks(pool);
    const client = await temporalClient(stack);
    const tenants = Array.from({ length: tenantCount }, (_, i) => `bench-t${i}`);
    const tokens = await tokensFor(pool, tenants);
    const api = await startApi(stack, {}, profile ? cpuProfileFlags('provisioning-api') : []);
    const pids = await stack.pids();

    // Warm-up of our path; it also tells how many activities one provisioning runs.
    let worker = await startWorker(stack, { mode: 'claimflow', ...(overrides ? { overrides } : {}), env });
    await createThroughApi(stack, tokens, fleet(tenants, warmup, 'warm'), concurrency);
    await waitForReady(pool, warmup, ctx.log, 120_000);
    const steps = await activitiesPerProvisioning(client, `instance/${tenants[0]}/warm-0`);
    ctx.log(`warm-up: ${warmup} instances Ready; one provisioning runs ${stepsText(steps)}`);
    await worker.stop();

    // The ceiling: same server, same worker settings, no-op workflow and activities.
    const noop = await startWorker(stack, { mode: 'noop', taskQueue: NOOP_TASK_QUEUE, ...(overrides ? { overrides } : {}), env, ...(profile ? { nodeFlags: cpuProfileFlags('provisioning-ceiling-worker') } : {}) });
    await runCeiling(ctx, stack, client, warmup, steps, concurrency, 'warmnoop');
    ctx.log(`ceiling: ${n} workflows x ${stepsText(steps)} no-op activities, ${concurrency} starts at a time`);
    const ceilingMeter = startUsageMeter({ ...pids, worker: noop.pid, api: api.pid, bench: process.pid });
    const ceiling = await runCeiling(ctx, stack, client, n, steps, concurrency, 'noop');
    const ceilingUsage = ceilingMeter.stop();
    await noop.stop();
    ctx.log(`ceiling: ${n} in ${ceiling.wallSeconds.toFixed(1)} s`);
    const schedules = await runSchedulesAlone(ctx, client, { ...pids, api: api.pid }, fleet(tenants, n, 'sched'), concurrency);

    // Ours: POST /v1/instances from the load generator until Ready in the read model.
    worker = await startWorker(stack, { mode: 'claimflow', ...(overrides ? { overrides } : {}), env, ...(profile ? { nodeFlags: cpuProfileFlags('provisioning-worker') } : {}) });
    ctx.log(`claimflow: creating ${n} instances through the API, ${concurrency} at a time`);
    let loadPid: number | undefined;
    const oursMeter = startUsageMeter({ ...pids, worker: worker.pid, api: api.pid, bench: process.pid, get loadgen() { return loadPid; } });
    const members = fleet(tenants, n, 'db');
    const created = await createThroughApi(stack, tokens, members, concurrency, undefined, (s) => (loadPid = s.pid));
    ctx.log(`claimflow: ${n} creates answered in ${created.seconds.toFixed(1)} s (POST p50 ${summarize(created.latenciesMs).p50} ms, p99 ${summarize(created.latenciesMs).p99} ms)`);
    await waitForReady(pool, warmup + n, ctx.log, Math.max(180_000, n * 1000));
    const oursUsage = oursMeter.stop();
    await worker.stop();
    await api.stop();
    const apiProfiles = profile ? profilesOf('provisioning-api').map((f) => summarizeProfile(f)) : [];
    const workerProfiles: ProfileSummary[] = profile ? profilesOf('provisioning-worker').map((f) => summarizeProfile(f)) : [];
    const ceilingWorkerProfiles: ProfileSummary[] = profile ? profilesOf('provisioning-ceiling-worker').map((f) => summarizeProfile(f)) : [];
    for (const p of [...workerProfiles, ...ceilingWorkerProfiles, ...apiProfiles]) ctx.log(`worker profile ${p.file}: ${100 - p.idlePercent}% busy; top: ${p.areas.filter((a) => a.area !== '(idle)').slice(0, 6).map((a) => `${a.area} ${a.percent}%`).join(', ')}`);

    const sent = new Map((created.all ?? []).map((s) => [s.tag!, s.startedAt]));
    const marks = (await phaseMarks(pool, 'ready')).filter((m) => sent.has(`${m.tenant}/${m.name}`));
    const t0 = Math.min(...sent.values());
    const lastReady = Math.max(...marks.map((m) => m.at));
    const wallSeconds = (lastReady - t0) / 1000;
    const toReady = summarize(marks.map((m) => m.at - sent.get(`${m.tenant}/${m.name}`)!));
    const oursRate = n / wallSeconds;
    const ceilingRate = n / ceiling.wallSeconds;
    const ratio = oursRate / ceilingRate;

    const cpu = (u: typeof oursUsage, name: string) => u.processes[name]?.cpuSeconds;
    // The wall time no implementation of this shape could beat here: the ceiling's CPU, plus what the
    // stand-in cluster spent on our claims and the server on the instances' Schedules, on this machine's cores.
    const standInCpu = (u: typeof oursUsage) => ['kube-apiserver', 'etcd', 'simulator'].reduce((sum, name) => sum + (cpu(u, name) ?? 0), 0);
    const cores = oursUsage.machine.cores;
    const oursCpu = totalCpuSeconds(oursUsage);
    const ceilingCpu = totalCpuSeconds(ceilingUsage);
    // The stand-in idles through the ceiling: counted once, as ours used it.
    const floorSeconds = (ceilingCpu - standInCpu(ceilingUsage) + standInCpu(oursUsage) + (cpu(schedules.usage, 'temporal') ?? 0)) / cores;
    const rows: Row[] = [
      {
        run: `claimflow (API -> Ready in read model)`, n, 'wall s': round(wallSeconds, 1), 'inst/s': round(oursRate, 1), 'p50 ms': toReady.p50, 'p99 ms': toReady.p99,
        'worker cpu s': cpu(oursUsage, 'worker'), 'temporal cpu s': cpu(oursUsage, 'temporal'), 'api cpu s': cpu(oursUsage, 'api'), 'pg cpu s': cpu(oursUsage, 'postgres'),
        'kube cpu s': round((cpu(oursUsage, 'kube-apiserver') ?? 0) + (cpu(oursUsage, 'etcd') ?? 0), 1), 'sim cpu s': cpu(oursUsage, 'simulator'), 'busy cores': oursUsage.machine.busyCores, 'other cores': oursUsage.machine.otherCores,
      },
      {
        run: `ceiling (${stepsText(steps)} no-op activities/workflow)`, n, 'wall s': round(ceiling.wallSeconds, 1), 'inst/s': round(ceilingRate, 1), 'p50 ms': ceiling.completeMs.p50, 'p99 ms': ceiling.completeMs.p99,
        'worker cpu s': cpu(ceilingUsage, 'worker'), 'temporal cpu s': cpu(ceilingUsage, 'temporal'), 'api cpu s': cpu(ceilingUsage, 'api'), 'pg cpu s': cpu(ceilingUsage, 'postgres'),
        'kube cpu s': round((cpu(ceilingUsage, 'kube-apiserver') ?? 0) + (cpu(ceilingUsage, 'etcd') ?? 0), 1), 'sim cpu s': cpu(ceilingUsage, 'simulator'), 'busy cores': ceilingUsage.machine.busyCores, 'other cores': ceilingUsage.machine.otherCores,
      },
      {
        run: `part of ours: the instances' Schedules alone (${n} upserts, no worker)`, n, 'wall s': round(schedules.wallSeconds, 1),
        'worker cpu s': 0, 'temporal cpu s': cpu(schedules.usage, 'temporal'), 'api cpu s': cpu(schedules.usage, 'api'), 'pg cpu s': cpu(schedules.usage, 'postgres'),
        'busy cores': schedules.usage.machine.busyCores, 'other cores': schedules.usage.machine.otherCores,
      },
      { run: `ours' CPU (all processes, ${round(oursCpu, 1)} CPU-s) on ${cores} cores`, n, 'wall s': round(oursCpu / cores, 1) },
      { run: `floor here: the ceiling's CPU + the stand-in cluster's for ours + the Schedules', on ${cores} cores`, n, 'wall s': round(floorSeconds, 1), 'inst/s': round(n / floorSeconds, 1) },
      { run: 'ratio claimflow / ceiling', 'inst/s': round(ratio, 2) },
    ];
    return {
      rows,
      targets: [
        { what: 'throughput vs Temporal ceiling', target: '>= 0.6', measured: round(ratio, 2).toString(), met: ratio >= 0.6 },
        ...(n >= 1000 ? [{ what: `${n} instances Ready`, target: '< 60 s', measured: `${round(wallSeconds, 1)} s`, met: wallSeconds < 60 }] : []),
      ],
      details: {
        n, concurrency, tenants: tenantCount, warmup, activitiesPerProvisioning: steps.activities, localActivitiesPerProvisioning: steps.localActivities, workerOverrides: overrides ?? null, workerEnv: env,
        ours: { wallSeconds, instancesPerSecond: oursRate, timeToReadyMs: toReady, postLatencyMs: summarize(created.latenciesMs), postSeconds: created.seconds, usage: oursUsage },
        ceiling: { wallSeconds: ceiling.wallSeconds, workflowsPerSecond: ceilingRate, completeMs: ceiling.completeMs, usage: ceilingUsage },
        schedulesAlone: schedules,
        ratio,
        cpuFloor: { seconds: floorSeconds, standInCpuSeconds: standInCpu(oursUsage), oursCpuSeconds: oursCpu, ceilingCpuSeconds: ceilingCpu, cores },
        ...(workerProfiles.length > 0 ? { workerProfiles, ceilingWorkerProfiles, apiProfiles } : {}),
      },
      notes: [
        'Order: warm-up (ours), ceiling, the Schedules alone, then ours, one worker process at a time on the same Temporal dev server.',
        "The Schedules alone: what Temporal spends on the instances' Schedules (each is a scheduler workflow inside the server), which the ceiling does not create; the bench's own CPU there is the Temporal client's.",
        "Floor here: no provisioning of this shape finishes faster on this machine, even if our own code cost nothing: the no-op ceiling's CPU (every process but the stand-in cluster, idle then), plus the CPU the stand-in cluster (kube-apiserver, etcd, the simulator) and the instances' Schedules took in our run, divided by the cores. A 'wall s' over the target means the target needs more cores here.",
        'Time to Ready: POST sent (load generator clock) -> COMMIT of the projection that set phase=ready (database clock, same host).',
      ],
    };
  },
};
