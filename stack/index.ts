// The local stack as one unit: startStack / stopStack / stackStatus. Used by `npm run up|down|status`
// (stack/cli.ts) and by the test harness (test/run.ts) with a throwaway config.
//
// Start order (independent branches run in parallel, to keep `up` fast):
//   etcd + PKI -> kube-apiserver -> CRDs          ┐
//   Temporal dev server -> namespace retention    ├─> worker, API
//   PostgreSQL reachable + database               ┘
//   (kube branch) -> simulator
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { apiUrl, databaseUrl, etcdUrl, paths, temporalAddress, type PostgresConfig, type StackConfig } from './config.js';
import { applyCrds } from './crds.js';
import { etcdComponent } from './etcd.js';
import { apiserverComponent } from './kube-apiserver.js';
import { writeKubeconfig } from './kubeconfig.js';
import { NODE_SERVICES, nodeServiceComponent, serviceEnv, serviceWanted, type NodeServiceName } from './node-services.js';
import { ensurePki } from './pki.js';
import { databaseExists, dropDatabase, ensureDatabase, liveInstanceCount } from './postgres.js';
import { isAlive, isOurs, readProcess, stopProcess } from './processes.js';
import { ensureRunning, shown, type Ensured } from './supervise.js';
import { setRetention, temporalComponent } from './temporal.js';
import { StackError } from './util.js';

export type { StackConfig } from './config.js';
export { localStackConfig, testStackConfig, repoRoot } from './config.js';
export { resolveToolchain } from './toolchain.js';
export { StackError } from './util.js';

export interface ComponentRow {
  component: string;
  state: string;
  pid: string;
  address: string;
}

export interface StartOptions {
  /** Aborting stops the start-up early (the harness does this on Ctrl-C); stopStack cleans up. */
  signal?: AbortSignal;
  /** Progress lines ("etcd: started in 0.8s"). */
  log?: (line: string) => void;
}

export interface StartResult {
  rows: ComponentRow[];
  /** KUBECONFIG, TEMPORAL_ADDRESS, ... as the node services receive them. */
  env: Record<string, string>;
  /** true when every process was already running: nothing was started. */
  unchanged: boolean;
  /** Worth a line of its own under the table. */
  warnings: string[];
}

/** Process names, in start order. */
const PROCESSES = ['etcd', 'kube-apiserver', 'temporal', 'simulator', 'worker', 'api'] as const;

/** Starts (or confirms) every part of the stack; throws a StackError naming the part that failed. */
export async function startStack(config: StackConfig, opts: StartOptions = {}): Promise<StartResult> {
  const p = paths(config);
  for (const dir of [config.stateDir, p.logs, p.pids]) mkdirSync(dir, { recursive: true });
  linkToolchain(config);

  // One failure aborts the other branches, so the error is reported at once, not after timeouts.
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(opts.signal!.reason);
  if (opts.signal?.aborted) inner.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = inner.signal;
  const say = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const timed = async <T>(what: string, step: () => Promise<T>, describe: (r: T) => string): Promise<T> => {
    try {
      const r = await step();
      say(`${what}: ${describe(r)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
      return r;
    } catch (e) {
      inner.abort(e);
      throw e;
    }
  };
  const stateOf = (e: Ensured) =>
    e.state === 'started'
      ? `started, pid ${e.record.pid}${e.firstStartExited ? ` (at the second start; the first exited: ${e.firstStartExited})` : ''}`
      : `already running, pid ${e.record.pid}`;

  const kube = (async () => {
    const [pki, etcd] = await Promise.all([
      timed('pki', () => ensurePki(p.pki), () => 'ready'),
      timed('etcd', () => ensureRunning(config, etcdComponent(config), signal), stateOf),
    ]);
    writeKubeconfig(config, pki);
    const apiserver = await timed('kube-apiserver', () => ensureRunning(config, apiserverComponent(config, pki), signal), stateOf);
    const kc = new KubeConfig();
    kc.loadFromFile(p.kubeconfig);
    const crds = await timed('CRDs', () => applyCrds(kc, config.crdDir, { signal }), (names) => `${names.length} applied and Established`);
    return { etcd, apiserver, crds };
  })();
  // Before Temporal creates it: a new history store beside an old read model is worth a word.
  const temporalIsNew = !existsSync(p.temporalDb);
  const temporal = (async () => {
    const t = await timed('temporal', () => ensureRunning(config, temporalComponent(config), signal), stateOf);
    // only on a fresh start: on a running server it was set already, and `up` again changes nothing
    if (t.state === 'started') await timed('temporal retention', () => setRetention(config, signal), () => `namespace ${config.temporalNamespace} keeps 30 days`);
    return t;
  })();
  const postgres = timed('postgres', () => ensureDatabase(config.postgres, signal), (r) => (r.created ? `created database ${config.postgres.database}` : `database ${config.postgres.database} exists`));

  const startService = async (name: NodeServiceName, after: Promise<unknown>[]): Promise<Ensured | undefined> => {
    await Promise.all(after);
    if (!serviceWanted(config, name)) return undefined;
    return timed(name, () => ensureRunning(config, nodeServiceComponent(config, name), signal), stateOf);
  };
  const simulator = startService('simulator', [kube]);
  const worker = startService('worker', [kube, temporal, postgres]);
  const api = startService('api', [kube, temporal, postgres]);

  const all = [kube, temporal, postgres, simulator, worker, api] as const;
  const settled = await Promise.allSettled(all);
  opts.signal?.removeEventListener('abort', onOuterAbort);
  const failures = [...new Set(settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : [])))];
  if (failures.length > 0) {
    const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
    const error = new StackError(messages.join('\n'));
    throw error;
  }

  const [k, t, pgr, sim, wrk, apiSvc] = await Promise.all(all);
  writeEnvFile(config);
  const processRow = (component: string, e: Ensured | undefined, address: string, name?: NodeServiceName): ComponentRow =>
    e
      ? { component, state: e.state, pid: String(e.record.pid), address }
      : { component, state: config.services[name!] ? `not started (no ${NODE_SERVICES[name!].entry} yet)` : 'not part of this stack', pid: '-', address: '-' };
  const rows: ComponentRow[] = [
    processRow('etcd', k.etcd, etcdUrl(config)),
    processRow('kube-apiserver', k.apiserver, `https://127.0.0.1:${config.ports.apiserver}  KUBECONFIG=${shown(config, p.kubeconfig)}`),
    { component: 'CRDs', state: `${k.crds.length} Established`, pid: '-', address: k.crds.length ? k.crds.join(', ') : `none in ${shown(config, config.crdDir)}` },
    processRow('Temporal gRPC', t, `${temporalAddress(config)}  namespace ${config.temporalNamespace}`),
    ...(config.ports.temporalUi !== undefined ? [processRow('Temporal UI', t, `http://127.0.0.1:${config.ports.temporalUi}`)] : []),
    { component: 'PostgreSQL', state: pgr.created ? 'database created' : 'ready', pid: 'system', address: databaseUrl(config) },
    processRow('simulator', sim, `log ${shown(config, p.log('simulator'))}`, 'simulator'),
    processRow('worker', wrk, `task queue ${config.temporalTaskQueue}`, 'worker'),
    processRow('API', apiSvc, apiUrl(config), 'api'),
  ];
  const started = [k.etcd, k.apiserver, t, sim, wrk, apiSvc].some((e) => e?.state === 'started') || pgr.created;
  const warnings = await earlierStackWarnings(config.postgres, { temporalIsNew, databaseCreated: pgr.created });
  return { rows, env: serviceEnv(config), unchanged: !started, warnings };
}

/**
 * The read model lives in the machine's PostgreSQL, not in `.local`: an earlier stack's instances
 * (its `.local` removed, or another checkout's) would show as live beside a new Temporal that has
 * no workflow for them, and the API refuses their names (instance_not_running). Asked only when
 * this `up` made a new Temporal store beside a database it did not create.
 */
export async function earlierStackWarnings(
  postgres: PostgresConfig,
  start: { temporalIsNew: boolean; databaseCreated: boolean },
): Promise<string[]> {
  if (!start.temporalIsNew || start.databaseCreated) return [];
  const count = await liveInstanceCount(postgres);
  if (count === 0) return [];
  const { host, user, database } = postgres;
  return [
    `The read model (database ${database}) holds ${count} instance${count === 1 ? '' : 's'} of an earlier stack, which this new ` +
      `Temporal has no history of. To start clean: npm run down; psql -h ${host} -U ${user} -c 'DROP DATABASE ${database} WITH (FORCE)'; npm run up`,
  ];
}

export interface StopResult {
  rows: ComponentRow[];
}

/**
 * Stops exactly the processes whose pid files this stack wrote (each verified against its
 * recorded command line). Developer stack: data stays for the next `up`. Throwaway stack: its
 * database is dropped and its state dir removed.
 */
export async function stopStack(config: StackConfig): Promise<StopResult> {
  const outcomes = new Map<string, { state: string; pid: string }>();
  const stop = async (name: string) => {
    const record = readProcess(config.stateDir, name);
    const outcome = await stopProcess(config.stateDir, name);
    outcomes.set(name, { state: outcome === 'not ours' ? 'left alone: pid now runs another command' : outcome, pid: record ? String(record.pid) : '-' });
  };
  // clients first (they would log connection errors), the apiserver before its etcd
  await Promise.all(['api', 'worker', 'simulator'].map(stop));
  await Promise.all([stop('temporal'), stop('kube-apiserver')]);
  await stop('etcd');
  const rows: ComponentRow[] = PROCESSES.map((name) => ({ component: name, ...outcomes.get(name)!, address: '-' }));
  if (config.ephemeral) {
    try {
      const dropped = await dropDatabase(config.postgres);
      rows.push({ component: 'PostgreSQL', state: `dropped ${dropped.join(', ')}`, pid: '-', address: '-' });
    } catch (e) {
      rows.push({ component: 'PostgreSQL', state: `could not drop ${config.postgres.database}: ${(e as Error).message}`, pid: '-', address: '-' });
    }
    rmSync(config.stateDir, { recursive: true, force: true });
  }
  return { rows };
}

/** alive / dead for every process of the stack, from its pid files; nothing is started. */
export async function stackStatus(config: StackConfig): Promise<ComponentRow[]> {
  const p = paths(config);
  const row = (name: (typeof PROCESSES)[number], component: string, address: string): ComponentRow => {
    const record = readProcess(config.stateDir, name);
    if (!record) return { component, state: 'stopped', pid: '-', address };
    if (isOurs(record)) return { component, state: 'alive', pid: String(record.pid), address };
    return { component, state: isAlive(record.pid) ? 'dead (pid reused by another process)' : 'dead', pid: String(record.pid), address };
  };
  const dbState = await databaseExists(config.postgres);
  return [
    row('etcd', 'etcd', etcdUrl(config)),
    row('kube-apiserver', 'kube-apiserver', `https://127.0.0.1:${config.ports.apiserver}  KUBECONFIG=${shown(config, p.kubeconfig)}`),
    row('temporal', 'Temporal gRPC', `${temporalAddress(config)}  namespace ${config.temporalNamespace}`),
    ...(config.ports.temporalUi !== undefined ? [row('temporal', 'Temporal UI', `http://127.0.0.1:${config.ports.temporalUi}`)] : []),
    {
      component: 'PostgreSQL',
      state: dbState === undefined ? 'unreachable' : dbState ? 'alive' : `alive, no database ${config.postgres.database}`,
      pid: 'system',
      address: databaseUrl(config),
    },
    row('simulator', 'simulator', `log ${shown(config, p.log('simulator'))}`),
    row('worker', 'worker', `task queue ${config.temporalTaskQueue}`),
    row('api', 'API', apiUrl(config)),
  ];
}

/** Plain-text table for the CLI. */
export function formatTable(rows: ComponentRow[]): string {
  const head: ComponentRow = { component: 'COMPONENT', state: 'STATE', pid: 'PID', address: 'ADDRESS' };
  const all = [head, ...rows];
  const w = (k: keyof ComponentRow) => Math.max(...all.map((r) => r[k].length));
  const [wc, ws, wp] = [w('component'), w('state'), w('pid')];
  return all.map((r) => `${r.component.padEnd(wc)}  ${r.state.padEnd(ws)}  ${r.pid.padEnd(wp)}  ${r.address}`.trimEnd()).join('\n');
}

/** <state>/env: `source .local/env` gives a shell what the services get. */
function writeEnvFile(config: StackConfig): void {
  const env = serviceEnv(config);
  const keys = ['KUBECONFIG', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'DATABASE_URL', 'CLAIMFLOW_API_PORT'] as const;
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const text = ['# written by `npm run up`; use: source .local/env', ...keys.map((k) => `export ${k}=${quote(env[k]!)}`), ''].join('\n');
  writeFileSync(paths(config).envFile, text);
}

/** <state>/toolchain-bin-path -> the toolchain directory, so `.local/toolchain-bin-path/kubectl` works. */
function linkToolchain(config: StackConfig): void {
  if (!config.toolchainBin) return;
  const link = paths(config).toolchainLink;
  const tmp = `${link}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  symlinkSync(config.toolchainBin, tmp);
  renameSync(tmp, link);
}

