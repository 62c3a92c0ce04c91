// Temporal dev server (`temporal server start-dev`): one process with frontend, history, matching,
// SQLite persistence and (unless headless) the Web UI. The namespace and the search attributes
// claimflow's workflows upsert are registered at launch; registering them again on a restart is
// a no-op, so the SQLite file can be kept across `down`/`up`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, temporalAddress, type StackConfig } from './config.js';
import type { Supervised } from './supervise.js';
import { cleanEnv, goServerEnv, run, StackError, waitFor } from './util.js';

export const SEARCH_ATTRIBUTES = ['ClaimflowTenant', 'ClaimflowInstance', 'ClaimflowPhase', 'ClaimflowMaintenanceWindow'] as const;

/** 30 days: the dev server's default (1 day) would drop finished workflows from the UI overnight. */
export const RETENTION = '720h';

const temporalBin = (config: StackConfig) => join(config.toolchainBin, 'temporal');

// TEMPORAL_ADDRESS etc. in the user's shell (e.g. after `source .local/env` of another stack)
// would override our flags in the CLI's env-config loading: start from an environment without them.
const cliEnv = () => cleanEnv();

export function temporalComponent(config: StackConfig): Supervised {
  const ports = [{ port: config.ports.temporal, label: 'Temporal gRPC' }];
  if (config.ports.temporalUi !== undefined) ports.push({ port: config.ports.temporalUi, label: 'Temporal UI' });
  return {
    name: 'temporal',
    title: 'Temporal dev server',
    ports,
    spec: () => ({
      name: 'temporal',
      command: temporalBin(config),
      args: [
        'server', 'start-dev',
        '--ip', '127.0.0.1',
        '--port', String(config.ports.temporal),
        ...(config.ports.temporalUi === undefined ? ['--headless'] : ['--ui-port', String(config.ports.temporalUi)]),
        '--db-filename', paths(config).temporalDb,
        ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
        '--namespace', config.temporalNamespace,
        ...SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
        // Eager activity dispatch hands an activity scheduled by a workflow task straight back to
        // the worker that completed it, skipping one matching round trip per step (off by default
        // in the server; the compose stack sets it in deploy/compose/temporal/dynamicconfig/claimflow.yaml).
        '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
        '--dynamic-config-value', `worker.perNamespaceWorkerOptions=${JSON.stringify(SCHEDULER_WORKER_OPTIONS)}`,
        ...onePartitionPerTaskQueue(config).flatMap((setting) => ['--dynamic-config-value', `${setting}=1`]),
        '--log-level', 'warn',
      ],
      env: goServerEnv(),
      cwd: config.stateDir,
    }),
    healthy: async () => (await temporalHealthy(config)) && (config.ports.temporalUi === undefined || (await uiAnswers(config))),
    timeoutMs: 60_000,
  };
}

/**
 * SQLite's defaults (a rollback journal, a full sync on each commit) make every write of the
 * server wait for the disk, behind its one connection (BENCHMARKS.md). With a write-ahead log and
 * a sync at checkpoints, a crash of the server loses nothing it committed; only a crash of the
 * machine can lose the last commits, which a local stack can afford.
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/**
 * One partition per task queue instead of the server's four. A local stack runs one worker per
 * task queue, the case for which the server gives its own per-namespace worker's queue one
 * partition: with four, a task written to a partition with no poll waiting there is forwarded to
 * the root partition, and polls are spread over partitions that are mostly empty (BENCHMARKS.md).
 *
 * Only for a database the setting started with: one created earlier with four partitions may hold
 * tasks in partitions 1-3, which no poll would reach with one. It keeps the server's default; a
 * fresh `.local` (stop the stack, remove `.local/temporal.sqlite*`) gets the one partition.
 */
function onePartitionPerTaskQueue(config: StackConfig): string[] {
  const { temporalDb, temporalPartitionsMarker } = paths(config);
  if (!existsSync(temporalDb)) {
    mkdirSync(config.stateDir, { recursive: true });
    writeFileSync(temporalPartitionsMarker, '1\n');
  }
  return existsSync(temporalPartitionsMarker) ? ['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions'] : [];
}

/**
 * The server's own worker that runs Schedules (one per namespace). Its defaults, two workflow task
 * pollers and a 5 s sticky timeout, fall behind when a maintenance window opens for hundreds of
 * instances at once: scheduler tasks that miss the sticky timeout go to the normal queue, which
 * the SDK does not poll while the sticky queue has a backlog, and their runs start a minute late.
 */
export const SCHEDULER_WORKER_OPTIONS = { MaxConcurrentWorkflowTaskPollers: 8, MaxConcurrentActivityTaskPollers: 4, StickyScheduleToStartTimeout: '60s' };

export async function temporalHealthy(config: StackConfig): Promise<boolean> {
  const r = await run(temporalBin(config), ['operator', 'cluster', 'health', '--address', temporalAddress(config)], { env: cliEnv(), timeoutMs: 5000 });
  return r.code === 0 && r.stdout.includes('SERVING');
}

async function uiAnswers(config: StackConfig): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${config.ports.temporalUi}/`, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.ok;
}

/**
 * Sets the namespace's retention explicitly instead of relying on the dev server's default.
 * Retried briefly: right after the frontend reports SERVING the namespace cache may lag.
 */
export async function setRetention(config: StackConfig, signal?: AbortSignal): Promise<void> {
  const args = ['operator', 'namespace', 'update', '--address', temporalAddress(config), '--namespace', config.temporalNamespace, '--retention', RETENTION];
  let lastError = '';
  await waitFor(
    async () => {
      const r = await run(temporalBin(config), args, { env: cliEnv(), timeoutMs: 10_000 });
      lastError = (r.stderr || r.stdout).trim();
      return r.code === 0;
    },
    { what: `setting retention of Temporal namespace ${config.temporalNamespace}`, timeoutMs: 20_000, intervalMs: 300, signal },
  ).catch((e: unknown) => {
    throw new StackError(`${(e as Error).message}: ${lastError}`);
  });
}

