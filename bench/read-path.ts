// 3. Read path: 100,000 instances in the read model (seeded with SQL: real states folded by the
// domain reducer, many tenants, one large), p50/p99 of GET /v1/instances/{name} and of a filtered,
// paginated list for one tenant, and requests per second, all from a separate load-generator
// process. Baseline in the same run: the same questions answered by listing claims from
// kube-apiserver with a label selector (what a controller-backed API without a read model does);
// and the floor: the same load generator against a server that does nothing (bench/floor-server.ts).
import { buildClaim } from '../src/activities/kubernetes/resources.js';
import { ReadModel, type ListFilter } from '../src/api/readmodel.js';
import { decodeInstanceCursor } from '../src/api/routes/instances.js';
import { lastCompletedBackup, reduce, tenantNamespace, type InstanceEvent, type InstanceState } from '../src/domain/index.js';
import { eventBatches, hash01, type InstanceSeed } from './lib/events.js';
import type { LoadPlan, LoadResult, PlannedRequest } from './loadgen.js';
import { runLoad } from './loadgen.js';
import { runLoadProcess } from './lib/load.js';
import { startUsageMeter } from './lib/procstat.js';
import { cpuProfileFlags, profilesOf, summarizeProfile } from './lib/profile.js';
import { round, summarize, type Row, type Summary } from './lib/report.js';
import { serverTimingsRecorder, splitByServer } from './lib/server-timings.js';
import { spawnService, startApi, startBenchStack, type BenchStack } from './lib/stack.js';
import { freePorts } from '../stack/config.js';
import { size, type Bench, type BenchContext } from './lib/types.js';
import { benchPool, readModelPool, tokensFor } from './lib/util.js';
import type pg from 'pg';

const BIG_TENANT = 'acme';
const CLAIMS = '/apis/db.claimflow.io/v1alpha1';

/** Instance i: 5% belong to the big tenant, the rest spread over `tenants` others (round-robin). */
function seedOf(i: number, tenants: number): InstanceSeed {
  const tenant = i % 20 === 0 ? BIG_TENANT : `t${String(i % tenants).padStart(4, '0')}`;
  return { tenant, name: `db-${i}`, instanceId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, index: i };
}

/** The state the reducer folds for instance i, in the phase mix of a real fleet. */
function stateOf(seed: InstanceSeed, start: number): InstanceState {
  const p = hash01(seed.index + 101);
  const batches = eventBatches(seed, Math.floor(hash01(seed.index + 13) * 8), start);
  let events: InstanceEvent[];
  const at = (seq: number) => new Date(start + seq * 1000).toISOString();
  const actor = 'tenant:bench';
  if (p < 0.02) events = batches.slice(0, 2).flat(); // provisioning
  else if (p < 0.04) {
    events = [...batches.slice(0, 2).flat(), { seq: 3, at: at(3), actor, requestId: `${seed.instanceId}-provision`, type: 'ProvisioningFailed', data: { conditionReason: 'ReconcileError', message: 'quota exceeded' } }];
  } else {
    events = batches.flat();
    if (p < 0.1) {
      const n = events.length;
      const requestId = `${seed.instanceId}-delete`;
      events.push(
        { seq: n + 1, at: at(n + 1), actor, requestId, type: 'DeprovisionRequested', data: { finalBackup: false } },
        { seq: n + 2, at: at(n + 2), actor, requestId, type: 'ClaimDeleted', data: { claimName: seed.name } },
        { seq: n + 3, at: at(n + 3), actor, requestId, type: 'InstanceDeleted', data: {} },
      );
    }
  }
  return events.reduce<InstanceState | null>(reduce, null)!;
}

async function seedReadModel(pool: pg.Pool, n: number, tenants: number, log: (l: string) => void): Promise<void> {
  const start = Date.UTC(2026, 0, 1);
  const chunk = 2000;
  const t0 = Date.now();
  for (let from = 0; from < n; from += chunk) {
    const states = Array.from({ length: Math.min(chunk, n - from) }, (_, k) => stateOf(seedOf(from + k, tenants), start));
    const col = <T>(f: (s: InstanceState) => T) => states.map(f);
    await pool.query(
      `INSERT INTO instances (instance_id, tenant, name, workflow_id, phase, version, size, pending_restart, maintenance_window,
         running_operation, last_operation, last_backup_at, state, last_seq, created_at, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], $9::jsonb[],
         $10::jsonb[], $11::jsonb[], $12::timestamptz[], $13::jsonb[], $14::int[], $15::timestamptz[], $16::timestamptz[])`,
      [
        col((s) => s.instanceId), col((s) => s.tenant), col((s) => s.name), col((s) => `instance/${s.tenant}/${s.name}`), col((s) => s.phase),
        col((s) => s.version), col((s) => s.size), col((s) => s.pendingRestart), col((s) => JSON.stringify(s.spec.maintenanceWindow)),
        col((s) => (s.runningOperation ? JSON.stringify(s.runningOperation) : null)), col((s) => (s.lastOperation ? JSON.stringify(s.lastOperation) : null)),
        col((s) => lastCompletedBackup(s)?.completedAt ?? null), col((s) => JSON.stringify(s)), col((s) => s.lastSeq),
        col((s) => s.createdAt), col((s) => s.updatedAt),
      ],
    );
    if ((from / chunk) % 10 === 9) log(`read model: ${from + chunk} rows`);
  }
  await pool.query('ANALYZE instances');
  const { rows } = await pool.query<{ bytes: string }>(`SELECT pg_total_relation_size('instances') AS bytes`);
  log(`read model: ${n} instances seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s (${Math.round(Number(rows[0]!.bytes) / 2 ** 20)} MiB with indexes)`);
}

/** `k` claims for instances 0..k-1, created through kube-apiserver's REST API. */
async function seedClaims(stack: BenchStack, k: number, tenants: number, log: (l: string) => void): Promise<{ seconds: number; perSecond: number }> {
  const server = `https://127.0.0.1:${stack.config.ports.apiserver}`;
  const seeds = Array.from({ length: k }, (_, i) => seedOf(i, tenants));
  const namespaces = [...new Set(seeds.map((s) => tenantNamespace(s.tenant)))];
  const nsRequests: PlannedRequest[] = namespaces.map((ns) => ({ method: 'POST', url: `${server}/api/v1/namespaces`, body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }) }));
  await runLoad({ requests: nsRequests, concurrency: 16, kubeconfig: stack.kubeconfig });
  const requests: PlannedRequest[] = seeds.map((s) => {
    const ns = tenantNamespace(s.tenant);
    const claim = buildClaim(
      { tenant: s.tenant, namespace: ns, instanceName: s.name, instanceId: s.instanceId },
      {
        size: ['small', 'medium', 'large'][Math.floor(hash01(s.index) * 3)]!, instances: 1, version: '16.9', maintenance: { dayOfWeek: 'sunday', timeOfDay: '03:00' },
        ...(hash01(s.index + 11) < 0.7 ? { backup: { schedule: '0 3 * * *', retention: 3 } } : {}), deletionProtection: false, connectionSecretName: `${s.name}-connection`,
      },
    );
    return { method: 'POST', url: `${server}${CLAIMS}/namespaces/${ns}/postgresqlinstances`, body: JSON.stringify(claim) };
  });
  const t0 = Date.now();
  let done = 0;
  for (let from = 0; from < requests.length; from += 10_000) {
    const part = requests.slice(from, from + 10_000);
    const result = await runLoad({ requests: part, concurrency: 32, kubeconfig: stack.kubeconfig });
    const bad = Object.entries(result.statuses).filter(([s]) => s !== '201');
    if (bad.length > 0) throw new Error(`creating claims: ${JSON.stringify(result.statuses)} ${result.errors[0] ?? ''}`);
    done += part.length;
    log(`kube: ${done} claims created (${Math.round(done / ((Date.now() - t0) / 1000))}/s)`);
  }
  const seconds = (Date.now() - t0) / 1000;
  return { seconds, perSecond: k / seconds };
}

/** One latency series of the table, one request at a time. */
interface Labelled {
  label: string;
  latency: Summary;
}

interface Measured {
  label: string;
  latency: LoadResult;
  load: LoadResult;
  usage: ReturnType<ReturnType<typeof startUsageMeter>['stop']>;
}

async function measure(ctx: BenchContext, stack: BenchStack, pids: Record<string, number | undefined>, label: string, requests: PlannedRequest[], plan: { latencyCount: number; loadConcurrency: number; loadMs: number; kube?: boolean; requestIdPrefix?: string }): Promise<Measured> {
  const base: Omit<LoadPlan, 'concurrency'> = { requests, order: 'random', ...(plan.kube ? { kubeconfig: stack.kubeconfig } : {}) };
  const ids = plan.requestIdPrefix === undefined ? {} : { recordAll: true, requestIdPrefix: plan.requestIdPrefix };
  const latency = await runLoadProcess(stack, { ...base, ...ids, concurrency: 1, count: plan.latencyCount, warmupCount: Math.max(5, Math.floor(plan.latencyCount / 5)) });
  let loadPid: number | undefined;
  const meter = startUsageMeter({ ...pids, get loadgen() { return loadPid; } }, 500);
  const load = await runLoadProcess(stack, { ...base, concurrency: plan.loadConcurrency, durationMs: plan.loadMs, warmupMs: 1000 }, (s) => (loadPid = s.pid));
  const usage = meter.stop();
  const bad = Object.entries({ ...latency.statuses, ...load.statuses }).filter(([s]) => s !== '200');
  if (bad.length > 0) throw new Error(`${label}: unexpected statuses ${JSON.stringify(bad)} ${latency.errors[0] ?? load.errors[0] ?? ''}`);
  const l = summarize(latency.latenciesMs);
  ctx.log(`${label}: p50 ${l.p50} ms, p99 ${l.p99} ms (1 at a time); ${Math.round(load.requestsPerSecond)} req/s at ${plan.loadConcurrency} concurrent`);
  return { label, latency, load, usage };
}

/**
 * The noise floor of one request at a time on this machine: the same load generator against
 * bench/floor-server.ts, answering as many bytes as each of `ours` did with no work at all.
 */
async function measureFloors(ctx: BenchContext, stack: BenchStack, ours: Measured[], count: number): Promise<Labelled[]> {
  const [port] = await freePorts(1);
  const server = await spawnService(stack, { name: 'floor-server', script: 'bench/floor-server.ts', args: [String(port)], env: {}, readyLine: 'floor server listening' });
  try {
    const floors: Labelled[] = [];
    for (const measured of ours) {
      const bytes = Math.round(measured.latency.bytes / Math.max(1, measured.latency.sent));
      const label = `floor: a Node server doing nothing, ${round(bytes / 1024, 1)} KiB answers`;
      const load = await runLoadProcess(stack, { requests: [{ method: 'GET', url: `http://127.0.0.1:${port}/bytes/${bytes}` }], concurrency: 1, count, warmupCount: Math.max(5, Math.floor(count / 5)) });
      const latency = summarize(load.latenciesMs);
      ctx.log(`${label}: p50 ${latency.p50} ms, p99 ${latency.p99} ms (1 at a time)`);
      floors.push({ label, latency });
    }
    return floors;
  } finally {
    await server.stop();
  }
}

/**
 * Ours without HTTP: the API's own queries (ReadModel, as its routes call it) from a Node client
 * with one connection, one at a time, and a bare round trip to PostgreSQL. Beside the HTTP floor
 * this splits a request's latency into what the loopback hop, the database hop and our work cost.
 */
async function measureQueries(ctx: BenchContext, stack: BenchStack, gets: InstanceSeed[], lists: ListFilter[], count: number): Promise<Labelled[]> {
  const oneConnection = benchPool(stack.databaseUrl, 1);
  try {
    const reads = new ReadModel(oneConnection);
    const timed = async (label: string, call: (i: number) => Promise<unknown>) => {
      const warmup = Math.max(5, Math.floor(count / 5));
      const latencies: number[] = [];
      for (let i = 0; i < warmup + count; i++) {
        const start = performance.now();
        await call(i);
        if (i >= warmup) latencies.push(performance.now() - start);
      }
      const latency = summarize(latencies);
      ctx.log(`${label}: p50 ${latency.p50} ms, p99 ${latency.p99} ms (1 at a time)`);
      return { label, latency };
    };
    const pick = <T>(items: T[], i: number) => items[Math.floor(hash01(i + 7000) * items.length)]!;
    return [
      await timed('floor: one PostgreSQL round trip from Node (SELECT 1)', () => oneConnection.query({ name: 'bench-select-1', text: 'SELECT 1' })),
      await timed("the GET's query alone (ReadModel.findInstance, no HTTP)", (i) => {
        const seed = pick(gets, i);
        return reads.findInstance(seed.tenant, seed.name);
      }),
      await timed("the list's query alone (ReadModel.listInstances, no HTTP)", (i) => reads.listInstances(pick(lists, i))),
    ];
  } finally {
    await oneConnection.end();
  }
}

export const readPathBench: Bench = {
  name: 'read-path',
  title: 'GET instance and tenant list from the read model vs listing claims from kube-apiserver',
  async run(ctx) {
    const n = size(ctx, 'instances', 100_000, 100_000);
    const claims = Math.min(n, size(ctx, 'claims', 5_000, 100_000));
    const tenants = size(ctx, 'tenants', 999, 999);
    const loadMs = size(ctx, 'load-ms', 8_000, 20_000);
    const concurrency = size(ctx, 'concurrency', 16, 16);
    const stack = await startBenchStack({ name: 'read-path', simulator: false, log: ctx.log });
    const pool = await readModelPool(stack);
    await seedReadModel(pool, n, tenants, ctx.log);
    const creation = await seedClaims(stack, claims, tenants, ctx.log);
    const profile = ctx.options.profile === 'true';
    const serverTimings = serverTimingsRecorder(stack.config.stateDir);
    const api = await startApi(
      stack,
      { ...(ctx.options['api-log-level'] ? { LOG_LEVEL: ctx.options['api-log-level'] } : {}), ...serverTimings.env },
      [...(profile ? cpuProfileFlags('read-path-api') : []), ...serverTimings.nodeFlags],
    );
    const pids = { ...(await stack.pids()), api: api.pid };

    // Who asks: the big tenant and 100 others that have claims too.
    const asking = [BIG_TENANT, ...Array.from({ length: 100 }, (_, i) => `t${String(i).padStart(4, '0')}`)];
    const tokens = await tokensFor(pool, asking);
    const sample = Array.from({ length: 3000 }, (_, j) => seedOf(Math.floor(hash01(j + 5000) * claims), tenants)).filter((s) => tokens[s.tenant]);
    const auth = (tenant: string) => ({ authorization: `Bearer ${tokens[tenant]!}` });
    const getRequests: PlannedRequest[] = sample.map((s) => ({ method: 'GET', url: `${stack.apiUrl}/v1/instances/${s.name}`, headers: auth(s.tenant) }));

    // pages of the big tenant's filtered list, following the cursors once
    const listQuery = { phase: 'ready', size: 'medium', limit: 50 } as const;
    const listBase = `${stack.apiUrl}/v1/instances?phase=${listQuery.phase}&size=${listQuery.size}&limit=${listQuery.limit}`;
    const pages: string[] = [listBase];
    for (let i = 0; i < 19; i++) {
      const res = await fetch(pages.at(-1)!, { headers: auth(BIG_TENANT) });
      const body = (await res.json()) as { items: unknown[]; nextCursor: string | null };
      if (res.status !== 200) throw new Error(`list: ${res.status} ${JSON.stringify(body)}`);
      if (!body.nextCursor) break;
      pages.push(`${listBase}&cursor=${body.nextCursor}`);
    }
    const listRequests: PlannedRequest[] = pages.map((url) => ({ method: 'GET', url, headers: auth(BIG_TENANT) }));
    // The same pages as the route asks the read model for them: one item more, to know if another page follows.
    const listFilters: ListFilter[] = pages.map((url) => {
      const cursor = new URL(url).searchParams.get('cursor');
      return { tenant: BIG_TENANT, phase: listQuery.phase, size: listQuery.size, limit: listQuery.limit + 1, ...(cursor ? { after: decodeInstanceCursor(cursor) } : {}) };
    });

    const server = `https://127.0.0.1:${stack.config.ports.apiserver}`;
    const selector = (s: string) => encodeURIComponent(s);
    const kubeGetRequests: PlannedRequest[] = sample.map((s) => ({ method: 'GET', url: `${server}${CLAIMS}/postgresqlinstances?labelSelector=${selector(`claimflow.io/tenant=${s.tenant},claimflow.io/instance=${s.name}`)}` }));
    const kubeListRequests: PlannedRequest[] = [{ method: 'GET', url: `${server}${CLAIMS}/postgresqlinstances?labelSelector=${selector(`claimflow.io/tenant=${BIG_TENANT}`)}` }];
    const kubeDirect: PlannedRequest[] = sample.map((s) => ({ method: 'GET', url: `${server}${CLAIMS}/namespaces/${tenantNamespace(s.tenant)}/postgresqlinstances/${s.name}` }));

    const quick = ctx.quick;
    const ourGet = await measure(ctx, stack, pids, 'read model: GET /v1/instances/{name}', getRequests, { latencyCount: quick ? 1000 : 3000, loadConcurrency: concurrency, loadMs, requestIdPrefix: 'bench-get-' });
    const ourList = await measure(ctx, stack, pids, 'read model: list, one tenant, filtered, 50/page', listRequests, { latencyCount: quick ? 1000 : 3000, loadConcurrency: concurrency, loadMs, requestIdPrefix: 'bench-list-' });
    const kubeGet = await measure(ctx, stack, pids, 'kube: list claims, label selector tenant+instance', kubeGetRequests, { latencyCount: quick ? 20 : 50, loadConcurrency: 4, loadMs, kube: true });
    const kubeList = await measure(ctx, stack, pids, 'kube: list claims, label selector tenant', kubeListRequests, { latencyCount: quick ? 20 : 50, loadConcurrency: 4, loadMs, kube: true });
    const kubeDirectGet = await measure(ctx, stack, pids, 'kube: GET one claim by namespace/name (not a list)', kubeDirect, { latencyCount: quick ? 500 : 2000, loadConcurrency: concurrency, loadMs, kube: true });
    const floors = await measureFloors(ctx, stack, [ourGet, ourList], quick ? 1000 : 3000);
    const queries = await measureQueries(ctx, stack, sample, listFilters, quick ? 1000 : 3000);

    await api.stop();
    const timings = serverTimings.read();
    const splits = [
      { what: 'GET', split: splitByServer(ourGet.latency.all ?? [], timings) },
      { what: 'list', split: splitByServer(ourList.latency.all ?? [], timings) },
    ];
    for (const { what, split } of splits) {
      const s = split.slowest1Percent;
      ctx.log(
        `${what}, one at a time, as the API saw it: ${split.matched} requests; ${split.collections.count} collections (pause p50 ${split.collections.pauseMs.p50} ms, max ${split.collections.pauseMs.max} ms) overlapped ${split.overlappingGc.requests}; ` +
          `the slowest ${split.overlappingGc.slowest1Percent} (${s.clientMs} ms mean): ${s.toApiMs} ms to the API, ${s.insideApiMs} ms inside it (${s.collectingMs} ms collecting), ${s.backMs} ms back; ${split.overlappingGc.ofSlowest1Percent} of them overlapped a collection`,
      );
    }
    const apiProfiles = profile ? profilesOf('read-path-api').map((f) => summarizeProfile(f, 30)) : [];
    for (const p of apiProfiles) ctx.log(`api profile ${p.file}: ${round(100 - p.idlePercent, 1)}% busy; top: ${p.areas.filter((a) => a.area !== '(idle)').slice(0, 8).map((a) => `${a.area} ${a.percent}%`).join(', ')}`);

    // kube list cost grows with the number of claims scanned: with fewer claims than instances, scale it
    const scale = n / claims;
    const row = (m: Measured, extra: Row = {}): Row => {
      const l = summarize(m.latency.latenciesMs);
      const under = summarize(m.load.latenciesMs);
      return {
        run: m.label, 'p50 ms': l.p50, 'p99 ms': l.p99, 'req/s': Math.round(m.load.requestsPerSecond), 'p99 ms under load': under.p99,
        'api cpu': m.usage.processes.api?.cores, 'pg cpu': m.usage.processes.postgres?.cores, 'kube cpu': round((m.usage.processes['kube-apiserver']?.cores ?? 0) + (m.usage.processes.etcd?.cores ?? 0), 2),
        'loadgen cpu': m.usage.processes.loadgen?.cores, 'other cores': m.usage.machine.otherCores, 'KiB/resp': round(m.load.bytes / Math.max(1, m.load.sent) / 1024, 1), ...extra,
      };
    };
    const ratio = (kube: Measured, ours: Measured) => {
      const k = summarize(kube.latency.latenciesMs);
      const o = summarize(ours.latency.latenciesMs);
      return { p50: (k.p50 * scale) / o.p50, p99: (k.p99 * scale) / o.p99, rps: ours.load.requestsPerSecond / (kube.load.requestsPerSecond / scale) };
    };
    const getRatio = ratio(kubeGet, ourGet);
    const listRatio = ratio(kubeList, ourList);
    const extrapolated = scale !== 1 ? ` (x${round(scale, 1)}: ${claims} claims measured, extrapolated to ${n})` : '';
    const latencyRow = (f: Labelled): Row => ({ run: f.label, 'p50 ms': f.latency.p50, 'p99 ms': f.latency.p99 });
    const rows: Row[] = [
      row(ourGet),
      row(ourList),
      row(kubeGet),
      row(kubeList),
      row(kubeDirectGet),
      ...floors.map(latencyRow),
      ...queries.map(latencyRow),
      ...splits.flatMap(({ what, split }) => [
        latencyRow({ label: `${what}: client sends -> the API has the request`, latency: split.toApi }),
        latencyRow({ label: `${what}: inside the API, request -> response written`, latency: split.insideApi }),
        latencyRow({ label: `${what}: response written -> the client has it`, latency: split.back }),
        latencyRow({ label: `${what}: the requests no collection in the API overlapped (${split.withoutGc.n} of ${split.matched})`, latency: split.withoutGc }),
      ]),
      { run: `ratio kube/ours, get by name${extrapolated}`, 'p50 ms': round(getRatio.p50, 0), 'p99 ms': round(getRatio.p99, 0), 'req/s': round(getRatio.rps, 0) },
      { run: `ratio kube/ours, tenant list${extrapolated}`, 'p50 ms': round(listRatio.p50, 0), 'p99 ms': round(listRatio.p99, 0), 'req/s': round(listRatio.rps, 0) },
    ];
    const p99 = (m: Measured) => summarize(m.latency.latenciesMs).p99;
    const minRatio = Math.min(getRatio.p50, getRatio.p99, listRatio.p50, listRatio.p99);
    return {
      rows,
      targets: [
        { what: 'GET /v1/instances/{name} p99', target: '< 10 ms', measured: `${p99(ourGet)} ms`, met: p99(ourGet) < 10 },
        { what: 'tenant list p99', target: '< 10 ms', measured: `${p99(ourList)} ms`, met: p99(ourList) < 10 },
        { what: 'faster than the kube list (min of p50/p99 ratios)', target: '>= 100x', measured: `${round(minRatio, 0)}x${scale !== 1 ? ' (extrapolated)' : ''}`, met: minRatio >= 100 },
      ],
      details: {
        instances: n, claims, tenants: tenants + 1, bigTenantInstances: Math.ceil(n / 20), listPages: pages.length, claimCreation: creation, scale,
        results: Object.fromEntries([ourGet, ourList, kubeGet, kubeList, kubeDirectGet].map((m) => [m.label, { latency: summarize(m.latency.latenciesMs), underLoad: summarize(m.load.latenciesMs), requestsPerSecond: m.load.requestsPerSecond, concurrency: m === kubeGet || m === kubeList ? 4 : concurrency, bytesPerResponse: m.load.bytes / Math.max(1, m.load.sent), usage: m.usage }])),
        ratios: { get: getRatio, list: listRatio },
        floors: Object.fromEntries(floors.map((f) => [f.label, f.latency])),
        queriesAlone: Object.fromEntries(queries.map((q) => [q.label, q.latency])),
        asTheApiSawIt: Object.fromEntries(splits.map(({ what, split }) => [what, split])),
        apiLogLevel: ctx.options['api-log-level'] ?? 'info',
        ...(apiProfiles.length > 0 ? { apiProfiles } : {}),
      },
      notes: [
        'Latency: one request at a time (closed loop, after unrecorded warm-up requests); req/s: a separate load-generator process, closed loop at the concurrency shown, on the same 2 cores as the servers.',
        'Floor: the same load generator against a Node HTTP server that answers as many bytes from memory (bench/floor-server.ts): what one request at a time costs on this machine before any work; no p99 of ours can go below it.',
        "As the API saw it: bench/lib/server-timings.mjs, preloaded into the API, records each request's start and finish and every garbage collection on the API's own clock; matched to the client's one-at-a-time requests by x-request-id, and the client's send times put on that clock through both processes' performance.timeOrigin. Each leg's percentiles are its own (they do not add up).",
        "Without HTTP: the API's ReadModel queries and a bare SELECT 1 from the bench's own Node process over one connection, one at a time; a GET's latency is about the HTTP floor plus its query alone.",
        `Claims are created without status (a subresource), so kube responses are smaller than real ones: the kube figures are, if anything, optimistic.${scale !== 1 ? ` Kube list latency is scaled by ${round(scale, 1)} (linear in objects scanned) to ${n} claims.` : ''}`,
      ],
    };
  },
};
