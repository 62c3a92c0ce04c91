// 5. Fleet maintenance: N instances in one window with a fleet cap: the window's Temporal Schedule
// is triggered once, its run sends each instance in the window its maintenance Update, and the
// fleet coordinator lets `cap` run at a time. Wall time (the trigger -> last MaintenanceCompleted
// committed to the read model) versus the ideal ceil(N / cap) x one maintenance's time, measured
// alone in the same run. --opened-by=update: the bench sends each instance the Update itself.
import { ScheduleOverlapPolicy, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type pg from 'pg';
import { loadKubeConfig } from '../src/activities/kubernetes/client.js';
import { configureFleet } from '../src/clients/fleet.js';
import { DAYS_OF_WEEK, workflowIdFor, type MaintenanceWindow } from '../src/domain/index.js';
import { maintenanceUpdate, windowScheduleId, instanceWindowKey } from '../src/workflows/messages.js';
import { sleep } from './lib/cleanup.js';
import { fleet, startInstancesDirect, waitForReady, type FleetMember } from './lib/fleet.js';
import { handOverLegs, type SlotHolder } from './lib/handover.js';
import { phaseProfile } from './lib/profile.js';
import { activityCounts } from './lib/history.js';
import { clusterStepSplit, clusterStepStartLegs, standInTimes, stepGaps } from './lib/steps.js';
import { installMaintenanceMarks, installPhaseMarks, maintenanceMarks } from './lib/marks.js';
import { startUsageMeter, threadCpu, threadCpuDelta, totalCpuSeconds } from './lib/procstat.js';
import { round, summarize, type Row } from './lib/report.js';
import { NOOP_TASK_QUEUE, startBenchStack, startWorker } from './lib/stack.js';
import { size, type Bench } from './lib/types.js';
import { pool as inParallel, readModelPool, temporalClient, waitUntil } from './lib/util.js';
import { workerEnv, workerOverrides } from './provisioning.js';

const FLEET_ID = 'maintenance-fleet';

/**
 * What one maintenance asked of Temporal: the instance's tasks since `since`. A window's run is
 * one per window, whatever the number of its instances, so it is not counted per maintenance.
 */
async function tasksOfOneMaintenance(client: Client, member: FleetMember, since: number) {
  const history = await client.workflow.getHandle(workflowIdFor(member.tenant, member.name)).fetchHistory();
  return activityCounts((history.events ?? []).filter((e) => tsToMs(e.eventTime) >= since - 1000));
}

/** Every member of the fleet in one window three days ahead (no real window opens mid-run); each solo instance in one of its own. */
function benchWindows(solo: FleetMember[]): (member: FleetMember) => MaintenanceWindow {
  const day = DAYS_OF_WEEK[((new Date().getUTCDay() + 6) % 7 + 3) % 7]!;
  return (member) => {
    const alone = solo.indexOf(member);
    return { dayOfWeek: day, timeOfDay: alone < 0 ? '03:00' : `04:0${alone}`, durationMinutes: 60 };
  };
}

/**
 * The server's ceiling for the same work: n workflows of as many no-op activities (and local
 * ones) each as one maintenance ran, at most `cap` running at once, on a no-op worker. No
 * simulator delays: what is left is Temporal's own time for that many tasks at that concurrency.
 */
async function fleetCeiling(client: Client, n: number, cap: number, steps: { activities: number; localActivities: number }): Promise<{ wallSeconds: number; eachMs: ReturnType<typeof summarize> }> {
  const ids = Array.from({ length: n }, (_, i) => `noop-fleet-${i}`);
  const took: number[] = [];
  const t0 = Date.now();
  await inParallel(ids, cap, async (workflowId) => {
    const started = Date.now();
    await client.workflow.execute('noopChainWorkflow', { workflowId, taskQueue: NOOP_TASK_QUEUE, args: [steps.activities, steps.localActivities] });
    took.push(Date.now() - started);
  });
  return { wallSeconds: (Date.now() - t0) / 1000, eachMs: summarize(took) };
}

async function instanceIds(pool: pg.Pool, members: FleetMember[]): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ instance_id: string; tenant: string; name: string }>(
    `SELECT instance_id, tenant, name FROM instances WHERE phase <> 'deleted' AND (tenant || '/' || name) = ANY($1)`,
    [members.map((m) => `${m.tenant}/${m.name}`)],
  );
  return new Map(rows.map((r) => [`${r.tenant}/${r.name}`, r.instance_id]));
}

/**
 * How the bench opens the windows. `schedule`: the members' window Schedule is triggered, as in
 * production. `update`: the bench sends each instance the maintenance Update itself, as the
 * window's run would; no Schedule fires and no run workflow starts.
 */
type OpenedBy = 'schedule' | 'update';

/** Opens the members' windows; returns when the first call was made. */
async function trigger(client: Client, taskQueue: string, members: FleetMember[], windowOf: (m: FleetMember) => MaintenanceWindow, openedBy: OpenedBy): Promise<number> {
  const t0 = Date.now();
  if (openedBy === 'schedule') {
    const windows = new Set(members.map((m) => instanceWindowKey({ spec: { maintenanceWindow: windowOf(m) } })));
    await Promise.all([...windows].map((window) => client.schedule.getHandle(windowScheduleId(taskQueue, window)).trigger()));
    return t0;
  }
  await inParallel(members, 50, async (m) => {
    const runId = `bench-window/${m.tenant}/${m.name}/${Date.now()}`;
    const request = { runId, actor: 'bench:fan-out', trigger: 'manual' as const, windowEndsAt: new Date(Date.now() + 3_600_000).toISOString(), report: false };
    await client.workflow.getHandle(workflowIdFor(m.tenant, m.name)).startUpdate(maintenanceUpdate, { args: [request], updateId: runId, waitForStage: WorkflowUpdateStage.ACCEPTED });
  });
  return t0;
}

async function waitForMaintenance(pool: pg.Pool, ids: string[], log: (l: string) => void, timeoutMs: number) {
  const want = new Set(ids);
  let done = new Map<string, number>();
  await waitUntil(`${ids.length} maintenance runs to complete`, async () => {
    const finished = [...(await maintenanceMarks(pool, 'completed')), ...(await maintenanceMarks(pool, 'failed')), ...(await maintenanceMarks(pool, 'skipped'))];
    done = new Map(finished.filter((m) => want.has(m.instanceId)).map((m) => [m.instanceId, m.at]));
    return done.size >= want.size;
  }, { timeoutMs, everyMs: 500, progress: () => `${done.size} finished`, log });
  const { rows } = await pool.query<{ instance_id: string; status: string; opened_ms: number; started_ms: number; finished_ms: number }>(
    `SELECT instance_id, status, (extract(epoch FROM opened_at) * 1000)::float8 AS opened_ms,
       (extract(epoch FROM started_at) * 1000)::float8 AS started_ms, (extract(epoch FROM finished_at) * 1000)::float8 AS finished_ms
     FROM maintenance_runs WHERE instance_id = ANY($1)`,
    [ids],
  );
  return { done, runs: rows };
}

/** N schedules that start a no-op workflow, all triggered at once: when did the server start each? */
async function scheduleStartCeiling(client: Client, n: number, temporalPid: number | undefined) {
  const ids = Array.from({ length: n }, (_, i) => `bench-noop-schedule/${i}`);
  await inParallel(ids, 20, (scheduleId) =>
    client.schedule.create({
      scheduleId,
      spec: { calendars: [{ dayOfWeek: 'SUNDAY', hour: 3, minute: 0 }], timezone: 'UTC' },
      action: { type: 'startWorkflow', workflowType: 'noopChainWorkflow', args: [0], taskQueue: 'bench-noop-unpolled', workflowId: `noop-run/${scheduleId}` },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    }),
  );
  // Temporal's CPU from the first trigger until every run has started: what firing a Schedule
  // costs the server, with no worker and nothing of ours in it.
  const meter = startUsageMeter({ temporal: temporalPid });
  const t0 = Date.now();
  await inParallel(ids, 50, (id) => client.schedule.getHandle(id).trigger());
  const query = `WorkflowType = 'noopChainWorkflow' AND StartTime >= '${new Date(t0 - 1000).toISOString()}'`;
  const startedRuns = async () => (await client.workflow.count(query)).count;
  let polls = 0;
  await waitUntil(`${n} schedule-started no-op workflows`, async () => {
    polls++;
    return (await startedRuns()) >= n;
  }, { timeoutMs: Math.max(180_000, n * 500), everyMs: 500, log: () => undefined });
  const firingCpuSeconds = meter.stop().processes.temporal?.cpuSeconds ?? NaN;
  // The polling above is the bench's, not the Schedules': the same count, asked as often with
  // nothing firing, is taken back out.
  const pollMeter = startUsageMeter({ temporal: temporalPid });
  for (let i = 0; i < polls; i++) await startedRuns();
  const pollingCpuSeconds = pollMeter.stop().processes.temporal?.cpuSeconds ?? 0;
  const temporalCpuSeconds = firingCpuSeconds - pollingCpuSeconds;
  const starts: number[] = [];
  for await (const wf of client.workflow.list({ query })) starts.push(wf.startTime.getTime() - t0);
  await inParallel(ids, 20, (id) => client.schedule.getHandle(id).delete());
  return { ...summarize(starts), temporalCpuMsPerRun: (temporalCpuSeconds * 1000) / n, pollingCpuMsPerRun: (pollingCpuSeconds * 1000) / n };
}

/**
 * Where the free slot-time went between the first start and the last end: free while no opened
 * window waited (the windows came too slowly) or free while some waited (the hand-over from a
 * released slot to the next start was slow). In slot-seconds.
 */
function idleSlots(runs: { opened_ms: number; started_ms: number; finished_ms: number }[], cap: number) {
  type Change = { at: number; kind: 'opened' | 'started' | 'finished' };
  const changes: Change[] = runs
    .flatMap((r): Change[] => [{ at: Number(r.opened_ms), kind: 'opened' }, { at: Number(r.started_ms), kind: 'started' }, { at: Number(r.finished_ms), kind: 'finished' }])
    .filter((change) => change.at > 0)
    .sort((a, b) => a.at - b.at);
  const first = Math.min(...runs.map((r) => Number(r.started_ms)));
  let running = 0;
  let waiting = 0;
  let last = first;
  const free = { noneWaiting: 0, someWaiting: 0 };
  for (const { at, kind } of changes) {
    if (at > first) {
      const freeSlots = Math.max(0, cap - running);
      const fillable = Math.min(freeSlots, waiting);
      free.someWaiting += (fillable * (at - last)) / 1000;
      free.noneWaiting += ((freeSlots - fillable) * (at - last)) / 1000;
      last = at;
    }
    if (kind === 'opened') waiting++;
    else if (kind === 'started') [running, waiting] = [running + 1, waiting - 1];
    else running--;
  }
  return free;
}

/** Each member's run by its workflow id: the coordinator knows requesters by that id. */
function slotHolders(members: FleetMember[], ids: Map<string, string>, runs: { instance_id: string; started_ms: number; finished_ms: number }[]): Map<string, SlotHolder> {
  const byInstance = new Map(runs.map((r) => [r.instance_id, r]));
  const holders = new Map<string, SlotHolder>();
  for (const m of members) {
    const run = byInstance.get(ids.get(`${m.tenant}/${m.name}`) ?? '');
    if (run?.started_ms && run.finished_ms) holders.set(workflowIdFor(m.tenant, m.name), { startedMs: Number(run.started_ms), finishedMs: Number(run.finished_ms) });
  }
  return holders;
}

/** Most runs in progress at once (from MaintenanceStarted to its end, workflow times). */
function maxOverlap(runs: { started_ms: number; finished_ms: number }[]): number {
  const edges = runs.filter((r) => r.started_ms && r.finished_ms).flatMap((r) => [[Number(r.started_ms), 1], [Number(r.finished_ms), -1]] as const);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

export const maintenanceBench: Bench = {
  name: 'maintenance',
  title: 'N instances in one maintenance window under a fleet cap, vs ideal N / cap x one maintenance',
  async run(ctx) {
    const n = size(ctx, 'instances', 60, 1000);
    const cap = size(ctx, 'cap', 10, 50);
    const opMs = size(ctx, 'op-delay-ms', 2000, 3000);
    const backupMs = size(ctx, 'backup-delay-ms', 1000, 2000);
    const openedBy = (ctx.options['opened-by'] ?? 'schedule') as OpenedBy;
    if (openedBy !== 'schedule' && openedBy !== 'update') throw new Error(`--opened-by must be schedule or update, not ${JSON.stringify(openedBy)}`);
    const stack = await startBenchStack({ name: 'maintenance', simulator: { readyMs: 0, opMs, backupMs }, log: ctx.log });
    const pool = await readModelPool(stack);
    await installPhaseMarks(pool);
    await installMaintenanceMarks(pool);
    const client = await temporalClient(stack);
    const taskQueue = stack.config.temporalTaskQueue;
    // More than one worker process adds pollers and a cache each (all on one task queue).
    const workerCount = size(ctx, 'workers', 1, 1);
    const overrides = workerOverrides(ctx);
    // --profile=true: a CPU profile of the first worker's main thread during the burst only
    const profile = ctx.options.profile === 'true' ? phaseProfile('maintenance-worker') : undefined;
    const workers = await Promise.all(Array.from({ length: workerCount }, (_, i) => startWorker(stack, {
      mode: 'claimflow',
      ...(workerCount > 1 ? { name: `worker-claimflow-${i + 1}` } : {}),
      ...(overrides ? { overrides } : {}),
      ...(profile && i === 0 ? { nodeFlags: profile.nodeFlags } : {}),
      env: { MAINTENANCE_MAX_CONCURRENT: String(cap), MAINTENANCE_FLEET_ID: FLEET_ID, ...workerEnv(ctx), ...(profile && i === 0 ? profile.env : {}) },
    })));

    const tenants = Array.from({ length: 10 }, (_, i) => `mnt-t${i}`);
    const solo = fleet(['solo'], 3, 'solo');
    const members = fleet(tenants, n, 'db');
    ctx.log(`provisioning ${n + solo.length} instances`);
    const windowOf = benchWindows(solo);
    await startInstancesDirect(client, taskQueue, [...solo, ...members], 50, undefined, windowOf);
    await waitForReady(pool, n + solo.length, ctx.log, Math.max(300_000, n * 1500));
    const status = await configureFleet({ client, fleetWorkflowId: FLEET_ID, taskQueue, defaults: { maxConcurrent: cap, paused: false } }, { maxConcurrent: cap, paused: false });
    ctx.log(`fleet cap ${status.maxConcurrent}`);

    // Temporal's own pace of starting runs from N triggered Schedules (no worker needed: the start
    // time is the server's), in the same run: the floor for "N windows open at once".
    const spread = await scheduleStartCeiling(client, n, (await stack.pids()).temporal);
    ctx.log(`Temporal Schedules ceiling: ${n} triggered schedules started their workflows within ${Math.round(spread.max)} ms (p50 ${Math.round(spread.p50)} ms), Temporal CPU ${spread.temporalCpuMsPerRun.toFixed(1)} ms per run started (the bench's polling, ${spread.pollingCpuMsPerRun.toFixed(1)} ms per run, taken out)`);

    // One maintenance alone, three times: the unit of the ideal.
    const soloIds = await instanceIds(pool, solo);
    const single: number[] = [];
    let soloStarted = 0;
    for (const m of solo) {
      const t0 = (soloStarted = await trigger(client, taskQueue, [m], windowOf, openedBy));
      const { done } = await waitForMaintenance(pool, [soloIds.get(`${m.tenant}/${m.name}`)!], ctx.log, 120_000);
      single.push([...done.values()][0]! - t0);
      await sleep(500);
    }
    const one = summarize(single).p50;
    ctx.log(`one maintenance alone: ${single.map((s) => Math.round(s)).join(', ')} ms (median ${Math.round(one)} ms)`);
    const perMaintenance = await tasksOfOneMaintenance(client, solo.at(-1)!, soloStarted);
    ctx.log(`one maintenance: ${perMaintenance.activities} activities + ${perMaintenance.localActivities} local, ${perMaintenance.workflowTasks} workflow tasks (the instance's)`);

    const ids = await instanceIds(pool, members);
    const memberIds = [...ids.values()];
    const workerPids = Object.fromEntries(workers.map((worker, i) => [i === 0 ? 'worker' : `worker${i + 1}`, worker.pid]));
    const meter = startUsageMeter({ ...(await stack.pids()), ...workerPids, bench: process.pid });
    const threadsBefore = threadCpu(workers[0]!.pid);
    profile?.toggle(workers[0]!.pid);
    ctx.log(openedBy === 'schedule' ? `triggering the window's Schedule of ${n} instances, cap ${cap}` : `sending ${n} maintenance Updates (no Schedule), cap ${cap}`);
    const t0 = await trigger(client, taskQueue, members, windowOf, openedBy);
    const triggeredIn = (Date.now() - t0) / 1000;
    const { done, runs } = await waitForMaintenance(pool, memberIds, ctx.log, Math.max(600_000, n * 2000));
    const usage = meter.stop();
    profile?.toggle(workers[0]!.pid);
    // the first worker's threads by name, in cores: main (activities), workflow threads, the SDK core's
    const workerThreads = threadCpuDelta(threadsBefore, threadCpu(workers[0]!.pid), usage.seconds);
    ctx.log(`worker threads (cores): ${Object.entries(workerThreads).map(([name, cores]) => `${name} ${cores}`).join(', ')}`);
    const wall = (Math.max(...done.values()) - t0) / 1000;
    const ideal = (Math.ceil(n / cap) * one) / 1000;
    const ratio = wall / ideal;
    const statuses = runs.reduce<Record<string, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {});
    const overlap = maxOverlap(runs);
    const idle = idleSlots(runs, cap);
    // the window's run: when the Schedule started it and when it had sent every Update (none when opened by Updates)
    const runStarts: number[] = [];
    const runEnds: number[] = [];
    if (openedBy === 'schedule') {
      for await (const wf of client.workflow.list({ query: `WorkflowType = 'maintenanceWindowWorkflow' AND StartTime >= '${new Date(t0 - 1000).toISOString()}'` })) {
        runStarts.push(wf.startTime.getTime() - t0);
        if (wf.closeTime) runEnds.push(wf.closeTime.getTime() - t0);
      }
    }
    const runStarted = summarize(runStarts);
    const windowRun = { startedMs: runStarts, closedMs: runEnds };
    if (openedBy === 'schedule') ctx.log(`trigger -> the window's run started ${runStarts.map(Math.round).join(', ')} ms, had sent every Update by ${runEnds.map(Math.round).join(', ')} ms`);
    const held = runs.filter((r) => r.started_ms && r.finished_ms).map((r) => Number(r.finished_ms) - Number(r.started_ms));
    const durations = summarize(held);
    const holders = slotHolders(members, ids, runs);
    const handOver = await handOverLegs(client, FLEET_ID, holders);
    const soloInstanceIds = [...soloIds.values()];
    const steps = await stepGaps(pool, memberIds, t0);
    const soloSteps = await stepGaps(pool, soloInstanceIds, 0);
    for (const [step, gap] of Object.entries(steps)) ctx.log(`run step ${step}: p50 ${Math.round(gap.p50)} ms, mean ${Math.round(gap.mean)} ms (alone: p50 ${Math.round(soloSteps[step]?.p50 ?? NaN)} ms)`);
    const clusterTimes = await standInTimes(loadKubeConfig(stack.kubeconfig));
    const clusterSteps = await clusterStepSplit(pool, clusterTimes, memberIds, t0);
    const soloClusterSteps = await clusterStepSplit(pool, clusterTimes, soloInstanceIds, 0);
    for (const kind of ['backup', 'upgrade'] as const) {
      const leg = (name: keyof (typeof clusterSteps)[typeof kind]) => {
        const [loaded, alone] = [clusterSteps[kind][name], soloClusterSteps[kind][name]];
        return `${name} mean ${Math.round(loaded.mean)} ms, p90 ${Math.round(loaded.p90)} ms (alone ${Math.round(alone.mean)} ms)`;
      };
      ctx.log(`${kind} step (${clusterSteps[kind].clusterWork.n} runs), at the stand-in's own start and end: ${leg('toClusterStart')}; ${leg('clusterWork')}; ${leg('backToInstance')}`);
    }
    // every 20th member's history: where the time before the stand-in starts goes
    const sampled = members.filter((_, i) => i % 20 === 0).map((member) => workflowIdFor(member.tenant, member.name));
    const startLegs = await clusterStepStartLegs(client, clusterTimes, sampled, t0);
    const soloStartLegs = await clusterStepStartLegs(client, clusterTimes, solo.map((member) => workflowIdFor(member.tenant, member.name)), 0);
    ctx.log(`before the stand-in starts a step (${startLegs.workflowTask.n} steps of ${sampled.length} instances): ${(['workflowTask', 'projectionInTask', 'toActivityStart', 'createToClusterStart'] as const)
      .map((name) => `${name} mean ${Math.round(startLegs[name].mean)} ms, p90 ${Math.round(startLegs[name].p90)} ms (alone ${Math.round(soloStartLegs[name].mean)} ms)`).join('; ')}`);
    ctx.log(`hand-over legs p50 (ms): release ${handOver.release.p50}, coordinator ${handOver.coordinator.p50}, grant pickup ${handOver.grantPickup.p50}, to the instance ${handOver.toInstance.p50} (${handOver.answeringARelease} of ${handOver.grants} grants answered a release)`);

    // Temporal's ceiling for the same number of tasks at the same cap, after ours, in the same run.
    const noop = await startWorker(stack, { mode: 'noop', taskQueue: NOOP_TASK_QUEUE, ...(overrides ? { overrides } : {}), env: workerEnv(ctx) });
    ctx.log(`Temporal ceiling: ${n} workflows x ${perMaintenance.activities} + ${perMaintenance.localActivities} local no-op activities, ${cap} at once`);
    const ceiling = await fleetCeiling(client, n, cap, perMaintenance);
    await noop.stop();
    ctx.log(`Temporal ceiling: ${round(ceiling.wallSeconds, 1)} s (each p50 ${Math.round(ceiling.eachMs.p50)} ms)`);
    // where the wall goes: schedules reaching the instances, slot use
    const opened = summarize(runs.map((r) => Number(r.opened_ms) - t0));
    const firstStart = Math.min(...runs.map((r) => Number(r.started_ms)));
    const lastEnd = Math.max(...runs.map((r) => Number(r.finished_ms)));
    const slotSpanSeconds = (lastEnd - firstStart) / 1000;
    const heldMs = held.reduce((a, b) => a + b, 0);
    const utilization = heldMs / 1000 / (slotSpanSeconds * cap);
    ctx.log(`trigger -> window opened: p50 ${Math.round(opened.p50)} ms, max ${Math.round(opened.max)} ms; slots busy ${Math.round(utilization * 100)}% of ${round(slotSpanSeconds, 1)} s`);

    // The wall, split exactly by what the slots did between the first run's start and the last's end.
    const wallSplit = {
      heldSeconds: heldMs / 1000 / cap,
      freeWhileWaitingSeconds: idle.someWaiting / cap,
      freeNoneWaitingSeconds: idle.noneWaiting / cap,
      outsideSlotSpanSeconds: wall - slotSpanSeconds,
    };

    // No wall on this machine can be shorter: the fleet's CPU (the bench's own polling left out) on every core.
    const fleetCpuSeconds = totalCpuSeconds(usage, ['bench']);
    const cpuFloorSeconds = fleetCpuSeconds / usage.machine.cores;
    const rows: Row[] = [
      { run: `one maintenance alone (backup ${backupMs} ms + security upgrade ${opMs} ms in the simulator)`, n: single.length, 's': round(one / 1000, 2) },
      { run: `ideal: ceil(${n} / ${cap}) x one`, n, 's': round(ideal, 1) },
      { run: `Temporal ceiling: ${n} workflows x ${perMaintenance.activities} + ${perMaintenance.localActivities} local no-op activities, ${cap} at once`, n, 's': round(ceiling.wallSeconds, 1), 'run p50 s': round(ceiling.eachMs.p50 / 1000, 2) },
      { run: `Temporal ceiling: ${n} triggered Schedules have started their workflows`, n, 's': round(spread.max / 1000, 1), 'run p50 s': round(spread.p50 / 1000, 1) },
      { run: `fleet: ${n} ${openedBy === 'schedule' ? "opened by their window's Schedule" : 'sent the Update by the bench'}, cap ${cap}`, n, 's': round(wall, 1), 'x ideal': round(ratio, 2), 'x ceiling': round(wall / ceiling.wallSeconds, 2), 'max running at once': overlap, 'run p50 s': round(durations.p50 / 1000, 2), 'run p99 s': round(durations.p99 / 1000, 2),
        'runs started by s': round(runStarted.max / 1000, 1), 'all opened by s': round(opened.max / 1000, 1), 'slot use %': Math.round(utilization * 100), 'free, none waiting slot-s': Math.round(idle.noneWaiting), 'free, some waiting slot-s': Math.round(idle.someWaiting),
        'hand-over p50 ms: release / coordinator / grant / instance': [handOver.release, handOver.coordinator, handOver.grantPickup, handOver.toInstance].map((leg) => Math.round(leg.p50)).join(' / '),
        ...(workerCount > 1 ? { workers: workerCount } : {}),
        'worker cpu': round(Object.keys(workerPids).reduce((sum, key) => sum + (usage.processes[key]?.cores ?? 0), 0), 3), 'temporal cpu': usage.processes.temporal?.cores, 'other cores': usage.machine.otherCores },
      ...([
        ['wall, part: runs holding their slots (their holds added up, over the cap)', wallSplit.heldSeconds],
        ['wall, part: slots free while windows waited (hand-overs)', wallSplit.freeWhileWaitingSeconds],
        ['wall, part: slots free, no window waiting (first windows opening, last runs ending)', wallSplit.freeNoneWaitingSeconds],
        ['wall, part: before the first run started, after the last ended', wallSplit.outsideSlotSpanSeconds],
      ] as const).map(([run, seconds]): Row => ({ run, n, 's': round(seconds, 1), 'x ideal': round(seconds / ideal, 2) })),
      { run: `CPU floor: the fleet's ${round(fleetCpuSeconds, 1)} CPU-s (${Math.round((fleetCpuSeconds / n) * 1000)} ms a maintenance) on ${usage.machine.cores} cores`, n, 's': round(cpuFloorSeconds, 1), 'x ideal': round(cpuFloorSeconds / ideal, 2) },
    ];
    return {
      rows,
      targets: [
        { what: 'fleet maintenance wall / ideal', target: '<= 1.2', measured: round(ratio, 2).toString(), met: ratio <= 1.2 },
        { what: 'cap respected', target: `<= ${cap} at once`, measured: String(overlap), met: overlap <= cap },
      ],
      details: { n, cap, openedBy, workers: workerCount, opDelayMs: opMs, backupDelayMs: backupMs, singleMs: single, idealSeconds: ideal, wallSeconds: wall, ratio, triggerSeconds: triggeredIn, statuses, maxRunningAtOnce: overlap, runDurationMs: durations, triggerToOpenedMs: opened, triggerToRunStartedMs: runStarted, windowRun, scheduleCeilingStartMs: spread, perMaintenance, fleetCeiling: ceiling, slotUtilization: utilization, idleSlotSeconds: idle, handOverLegsMs: handOver, workerThreadCores: workerThreads, runStepGapsMs: steps, soloRunStepGapsMs: soloSteps, clusterStepSplitMs: { underLoad: clusterSteps, alone: soloClusterSteps }, clusterStepStartLegsMs: { underLoad: startLegs, alone: soloStartLegs }, firstStartToLastEndSeconds: slotSpanSeconds, wallSplit, cpuFloor: { fleetCpuSeconds, seconds: cpuFloorSeconds, xIdeal: cpuFloorSeconds / ideal }, usage },
      notes: [
        'Wall: first trigger() call -> COMMIT of the last MaintenanceCompleted in the read model. One maintenance: trigger() -> its MaintenanceCompleted committed, alone on an idle fleet.',
        'Temporal ceiling: the same number of workflows, each with as many no-op activities (local ones as local activities) as one maintenance ran in its instance (a window\'s run is one per window, not per instance), at most cap at once, on a no-op worker: what the server alone needs for that much work at that concurrency.',
        `Run durations (MaintenanceStarted -> end, workflow times) show the time each spent holding a slot; the rest of the wall is waiting for a slot and hand-over.`,
        'Wall, parts: from the first run\'s start to the last one\'s end every slot is either held by a run or free, with or without windows waiting for one; over the cap, these slot-seconds and the time outside that span add up to the wall.',
        'CPU floor: the CPU every process but the bench spent from the first trigger to the last commit, over the cores: the wall with every core busy all the time and no waiting. Where it is above 1.2 x ideal, the target needs a faster machine or more cores.',
      ],
    };
  },
};
