// 2. Reaction time: from the claim's Ready=True in the API server (our own watch on all claims,
// timestamped on arrival) to the instance Ready in the read model (COMMIT of the projection, see
// lib/marks.ts). Instances are created at a steady, unsaturated rate, so this is latency, not
// queueing. Baseline in the same run: a poll-based reconciler (list all claims every interval,
// write what became Ready) timed the same way; full size uses the anchor's one-minute interval.
import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type pg from 'pg';
import { loadKubeConfig } from '../src/activities/kubernetes/client.js';
import { CLAIM } from '../src/activities/kubernetes/resources.js';
import { onCleanup, sleep } from './lib/cleanup.js';
import { fleet } from './lib/fleet.js';
import { localActivityType } from './lib/history.js';
import { installPhaseMarks, phaseMarks } from './lib/marks.js';
import { startUsageMeter } from './lib/procstat.js';
import { round, summarize, type Row } from './lib/report.js';
import { startApi, startBenchStack, startWorker } from './lib/stack.js';
import { size, type Bench } from './lib/types.js';
import { readModelPool, temporalClient, tokensFor, waitUntil } from './lib/util.js';
import { workerEnv, workerOverrides } from './provisioning.js';

type Claim = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } };
const isReady = (claim: Claim) => claim.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const keyOf = (claim: Claim) => `${claim.metadata?.labels?.['claimflow.io/tenant'] ?? '?'}/${claim.metadata?.name ?? '?'}`;
const [group, version] = CLAIM.apiVersion.split('/') as [string, string];

/** Our own watch on every claim: when each first showed Ready=True (epoch ms, on arrival). */
async function watchReady(kc: KubeConfig): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let stopped = false;
  let controller: AbortController | undefined;
  const start = async (): Promise<void> => {
    controller = await new Watch(kc).watch(
      `/apis/${CLAIM.apiVersion}/${CLAIM.plural}`,
      { allowWatchBookmarks: false },
      (_phase, claim: Claim) => {
        const at = Date.now();
        if (isReady(claim) && !seen.has(keyOf(claim))) seen.set(keyOf(claim), at);
      },
      () => {
        if (!stopped) setTimeout(() => void start(), 100);
      },
    );
  };
  await start();
  onCleanup('claim watch', () => {
    stopped = true;
    controller?.abort();
  });
  return seen;
}

/** The anchor: a reconciler that lists every claim each `intervalMs` and records what is Ready. */
function pollReconciler(kc: KubeConfig, pool: pg.Pool, intervalMs: number, offsetMs: number) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const recorded = new Set<string>();
  let stopped = false;
  let polls = 0;
  const loop = (async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_poll_ready (key text PRIMARY KEY, at timestamptz NOT NULL)');
    await sleep(offsetMs);
    while (!stopped) {
      const started = Date.now();
      const list = (await api.listCustomObjectForAllNamespaces({ group, version, plural: CLAIM.plural })) as { items: Claim[] };
      const fresh = list.items.filter((c) => isReady(c) && !recorded.has(keyOf(c))).map(keyOf);
      if (fresh.length > 0) {
        await pool.query('INSERT INTO bench_poll_ready (key, at) SELECT k, clock_timestamp() FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING', [fresh]);
        fresh.forEach((k) => recorded.add(k));
      }
      polls++;
      await sleep(Math.max(0, intervalMs - (Date.now() - started))).catch(() => undefined);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop.catch(() => undefined);
    },
    polls: () => polls,
    marks: async () => {
      const { rows } = await pool.query<{ key: string; at_ms: number }>('SELECT key, (extract(epoch FROM at) * 1000)::float8 AS at_ms FROM bench_poll_ready');
      return new Map(rows.map((r) => [r.key, Number(r.at_ms)]));
    },
  };
}

/** Where the time goes for one instance, from its workflow history (server event times). */
async function breakdown(client: Client, workflowId: string, claimReadyAt: number, readModelAt: number) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const time = (e: (typeof events)[number]) => tsToMs(e.eventTime);
  const scheduled = new Map<string, string>();
  for (const e of events) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) scheduled.set(String(e.eventId), a.activityType?.name ?? '?');
  }
  const completedAt = (name: string) => {
    const e = events.filter((x) => x.activityTaskCompletedEventAttributes && scheduled.get(String(x.activityTaskCompletedEventAttributes.scheduledEventId)) === name).at(-1);
    return e ? time(e) : NaN;
  };
  const startedAt = (name: string) => {
    const e = events.filter((x) => x.activityTaskStartedEventAttributes && scheduled.get(String(x.activityTaskStartedEventAttributes.scheduledEventId)) === name).at(-1);
    return e ? time(e) : NaN;
  };
  const waitDone = completedAt('waitForClaimReady');
  // Since the schedules-by-local-activity patch the Schedules are upserted inside the workflow
  // task that waits for the claim: no activity of their own to time.
  const schedulesDone = completedAt('upsertInstanceSchedules');
  const schedulesByActivity = !Number.isNaN(schedulesDone);
  const readyForUs = schedulesByActivity ? Math.max(waitDone, schedulesDone) : waitDone;
  const steps = {
    'claim Ready -> wait activity completed': waitDone - claimReadyAt,
    // The schedules are made while the claim comes up: Ready waits for them only if they finish later.
    ...(schedulesByActivity ? { 'schedules done before the claim was Ready (ms ahead)': waitDone - schedulesDone } : {}),
  };
  // Since the local-steps patch the projection runs as a local activity inside the workflow task
  // that saw the wait complete: no started event of its own to split at.
  if (events.some((e) => localActivityType(e) === 'projectEventsLocally')) {
    return { ...steps, 'wait completed -> read model COMMIT (local projection)': readModelAt - readyForUs };
  }
  const projectStarted = startedAt('projectEvents');
  return {
    ...steps,
    'wait completed -> projectEvents started': projectStarted - readyForUs,
    'projectEvents started -> read model COMMIT': readModelAt - projectStarted,
  };
}

export const reactionBench: Bench = {
  name: 'reaction',
  title: 'claim Ready (watched) -> instance Ready in the read model, vs a poll-based reconciler',
  async run(ctx) {
    const n = size(ctx, 'instances', 40, 300);
    const rate = size(ctx, 'rate', 2, 2);
    const pollMs = size(ctx, 'poll-interval-ms', 10_000, 60_000);
    const readyDelayMs = size(ctx, 'ready-delay-ms', 1500, 1500);
    const stack = await startBenchStack({ name: 'reaction', simulator: { readyMs: readyDelayMs, opMs: 300, backupMs: 300 }, log: ctx.log });
    const pool = await readModelPool(stack);
    await installPhaseMarks(pool);
    const client = await temporalClient(stack);
    const tenants = Array.from({ length: 5 }, (_, i) => `react-t${i}`);
    const tokens = await tokensFor(pool, tenants);
    const api = await startApi(stack);
    const worker = await startWorker(stack, { mode: 'claimflow', ...(workerOverrides(ctx) ? { overrides: workerOverrides(ctx)! } : {}), env: workerEnv(ctx) });
    const kc = loadKubeConfig(stack.kubeconfig);
    const watched = await watchReady(kc);

    const post = async (tenant: string, name: string) => {
      const res = await fetch(`${stack.apiUrl}/v1/instances`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[tenant]!}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, version: '16.9', size: 'small' }),
      });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`POST ${name}: ${res.status} ${text}`);
    };

    // warm-up, unmeasured
    const warm = fleet(tenants, 5, 'warm');
    for (const m of warm) await post(m.tenant, m.name);
    await waitUntil('warm-up Ready', async () => (await phaseMarks(pool, 'ready')).length >= warm.length, { timeoutMs: 60_000, log: ctx.log });

    const poller = pollReconciler(kc, pool, pollMs, Math.floor(Math.random() * pollMs));
    const pids = await stack.pids();
    const meter = startUsageMeter({ ...pids, worker: worker.pid, api: api.pid, bench: process.pid });
    const members = fleet(tenants, n, 'db');
    ctx.log(`creating ${n} instances at ${rate}/s (claim ready delay ${readyDelayMs} ms); poll reconciler every ${pollMs / 1000} s`);
    const t0 = Date.now();
    const posts: Promise<void>[] = [];
    for (let i = 0; i < members.length; i++) {
      await sleep(Math.max(0, t0 + (i * 1000) / rate - Date.now()));
      posts.push(post(members[i]!.tenant, members[i]!.name));
    }
    await Promise.all(posts);
    const keys = members.map((m) => `${m.tenant}/${m.name}`);
    let marks = new Map<string, number>();
    await waitUntil(`${n} instances Ready in the read model`, async () => {
      marks = new Map((await phaseMarks(pool, 'ready')).map((m) => [`${m.tenant}/${m.name}`, m.at]));
      return keys.every((k) => marks.has(k));
    }, { timeoutMs: 120_000, progress: () => `${keys.filter((k) => marks.has(k)).length} ready`, log: ctx.log });
    const usage = meter.stop();
    let polled = new Map<string, number>();
    await waitUntil('the poll reconciler to see every instance', async () => {
      polled = await poller.marks();
      return keys.every((k) => polled.has(k));
    }, { timeoutMs: pollMs * 2 + 30_000, everyMs: 1000, progress: () => `${keys.filter((k) => polled.has(k)).length} seen`, log: ctx.log });
    await poller.stop();

    const missing = keys.filter((k) => !watched.has(k));
    if (missing.length > 0) throw new Error(`our watch missed Ready of ${missing.length} claims, e.g. ${missing[0]}`);
    const ours = keys.map((k) => marks.get(k)! - watched.get(k)!);
    const poll = keys.map((k) => polled.get(k)! - watched.get(k)!);
    const oursS = summarize(ours);
    const pollS = summarize(poll);

    // where the time goes (server event times from each workflow's history)
    const parts: Record<string, number[]> = {};
    for (const m of members) {
      const k = `${m.tenant}/${m.name}`;
      const b = await breakdown(client, `instance/${m.tenant}/${m.name}`, watched.get(k)!, marks.get(k)!);
      for (const [what, ms] of Object.entries(b)) (parts[what] ??= []).push(ms);
    }
    const partRows: Row[] = Object.entries(parts).map(([what, values]) => ({ run: `  ${what}`, n: values.length, 'p50 ms': summarize(values).p50, 'p99 ms': summarize(values).p99 }));

    const rows: Row[] = [
      { run: 'claimflow: claim Ready -> read model Ready', n, 'p50 ms': oursS.p50, 'p90 ms': oursS.p90, 'p99 ms': oursS.p99, 'max ms': oursS.max },
      ...partRows,
      { run: `poll reconciler, ${pollMs / 1000} s interval`, n, 'p50 ms': pollS.p50, 'p90 ms': pollS.p90, 'p99 ms': pollS.p99, 'max ms': pollS.max },
      { run: 'ratio poll / claimflow (p99)', 'p99 ms': round(pollS.p99 / oursS.p99, 1) },
    ];
    return {
      rows,
      targets: [{ what: 'reaction p99', target: '< 250 ms', measured: `${oursS.p99} ms`, met: oursS.p99 < 250 }],
      details: { n, rate, pollIntervalMs: pollMs, readyDelayMs, ours: oursS, poll: pollS, polls: poller.polls(), breakdownMs: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, summarize(v)])), usage, wallSeconds: (Date.now() - t0) / 1000 },
      notes: [
        'Start: our own watch on all claims saw Ready=True (bench process clock). End: COMMIT of the projection that set phase=ready (database clock, same host).',
        'Breakdown rows use Temporal history event times (server clock, same host); they do not add up exactly to the total.',
      ],
    };
  },
};
