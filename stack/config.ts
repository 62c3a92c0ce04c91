// What a stack is made of: where its state lives, which ports it uses, and which optional parts run.
// One shape serves both the developer stack (`npm run up`, fixed ports, state in .local/) and the
// throwaway stack the test harness starts (free ports, temp dir, own database), so both run the
// same code path.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StackPorts {
  temporal: number;
  /** undefined = headless (no Web UI) */
  temporalUi: number | undefined;
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  api: number;
}

export interface PostgresConfig {
  host: string;
  port: number;
  user: string;
  database: string;
}

export interface SimulatorDelays {
  readyMs: number;
  opMs: number;
  backupMs: number;
}

export interface StackConfig {
  /** Shown in messages: "local" or "test". */
  label: string;
  /** Repository root: node entries, deploy/crds and node_modules/.bin/tsx are resolved from it. */
  rootDir: string;
  /** Everything the stack writes: pki, etcd data, sqlite, logs, pids, kubeconfig. */
  stateDir: string;
  /** Directory holding temporal, etcd, kube-apiserver, kubectl. */
  toolchainBin: string;
  ports: StackPorts;
  postgres: PostgresConfig;
  temporalNamespace: string;
  temporalTaskQueue: string;
  /** Directory of CRD YAML applied after the apiserver is ready. */
  crdDir: string;
  /** Which node services may start (each also needs its entry file to exist). */
  services: { simulator: boolean; worker: boolean; api: boolean };
  /** undefined = the simulator's own defaults. */
  simulatorDelays: SimulatorDelays | undefined;
  /**
   * Throwaway stack: etcd skips fsync (nothing to keep), and stopping it drops the database and
   * removes the state dir. The developer stack keeps its data so the next `up` resumes.
   */
  ephemeral: boolean;
}

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const TEMPORAL_NAMESPACE = 'claimflow';
export const TEMPORAL_TASK_QUEUE = 'claimflow';

/** The developer stack behind `npm run up`: fixed, documented ports, state in <repo>/.local. */
export function localStackConfig(toolchainBin: string, rootDir: string = repoRoot): StackConfig {
  return {
    label: 'local',
    rootDir,
    stateDir: join(rootDir, '.local'),
    toolchainBin,
    ports: { temporal: 7233, temporalUi: 8233, etcdClient: 12379, etcdPeer: 12380, apiserver: 6443, api: 3000 },
    postgres: { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'claimflow' },
    temporalNamespace: TEMPORAL_NAMESPACE,
    temporalTaskQueue: TEMPORAL_TASK_QUEUE,
    crdDir: join(rootDir, 'deploy', 'crds'),
    services: { simulator: true, worker: true, api: true },
    simulatorDelays: undefined,
    ephemeral: false,
  };
}

/**
 * A stack for one test run: a fresh temp dir, ports the kernel hands out (so it can run beside
 * `npm run up` or another test run), its own database, no Web UI, and only the simulator among
 * the node services (tests start workers and the API themselves, with the code under test).
 */
export async function testStackConfig(toolchainBin: string, rootDir: string = repoRoot): Promise<StackConfig> {
  const stateDir = await mkdtemp(join(tmpdir(), 'claimflow-test-'));
  const [temporal, etcdClient, etcdPeer, apiserver, api] = await freePorts(5);
  return {
    label: 'test',
    rootDir,
    stateDir,
    toolchainBin,
    ports: { temporal: temporal!, temporalUi: undefined, etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver!, api: api! },
    postgres: { host: '127.0.0.1', port: 5432, user: 'postgres', database: `claimflow_test_${randomBytes(5).toString('hex')}` },
    temporalNamespace: TEMPORAL_NAMESPACE,
    temporalTaskQueue: TEMPORAL_TASK_QUEUE,
    crdDir: join(rootDir, 'deploy', 'crds'),
    services: { simulator: true, worker: false, api: false },
    simulatorDelays: { readyMs: 300, opMs: 300, backupMs: 300 },
    ephemeral: true,
  };
}

/**
 * Ports free right now, chosen below the kernel's ephemeral range. Whatever asks the kernel for
 * any free port (the Temporal dev server for its metrics and internal ports, every outgoing
 * connection) gets one from that range, so it cannot take a port chosen here between this check
 * and the bind of the server it is for (one bench lost its etcd to the dev server's metrics port
 * that way). All listeners are held open until every port is known, so one call never hands out
 * the same port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const below = ephemeralPortsFrom();
  const held: Server[] = [];
  try {
    while (held.length < count) {
      const server = await listening(LOWEST_CHOSEN_PORT + Math.floor(Math.random() * (below - LOWEST_CHOSEN_PORT)));
      if (server) held.push(server);
    }
    return held.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((closed) => server.close(() => closed()))));
  }
}

/** Above the fixed ports of `npm run up` and of the machine's own services. */
const LOWEST_CHOSEN_PORT = 14_000;

/** A free port p with p + 1 free as well (a worker serves /metrics on p and the SDK's exporter on p + 1). */
export async function freePortPair(): Promise<number> {
  const below = ephemeralPortsFrom();
  for (;;) {
    const [port] = await freePorts(1);
    // p + 1 must stay below the ephemeral range too (freePorts may hand out its last port).
    if (port! + 1 < below && (await portIsFree(port! + 1))) return port!;
  }
}

async function portIsFree(port: number): Promise<boolean> {
  const server = await listening(port);
  if (!server) return false;
  await new Promise<void>((closed) => server.close(() => closed()));
  return true;
}

function listening(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** The first port of the kernel's ephemeral range (IANA's dynamic range where /proc does not say). */
function ephemeralPortsFrom(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && low > LOWEST_CHOSEN_PORT + 1_000) return low;
  } catch {
    // not Linux
  }
  return 49_152;
}

// ---- derived paths and addresses (one place, so messages, env and the table agree) ----

export const paths = (c: StackConfig) => ({
  logs: join(c.stateDir, 'logs'),
  pids: join(c.stateDir, 'pids'),
  pki: join(c.stateDir, 'pki'),
  etcdData: join(c.stateDir, 'etcd'),
  temporalDb: join(c.stateDir, 'temporal.sqlite'),
  /** Written beside a Temporal database created with one partition per task queue. */
  temporalPartitionsMarker: join(c.stateDir, 'temporal.one-partition'),
  kubeconfig: join(c.stateDir, 'kubeconfig'),
  envFile: join(c.stateDir, 'env'),
  toolchainLink: join(c.stateDir, 'toolchain-bin-path'),
  log: (name: string) => join(c.stateDir, 'logs', `${name}.log`),
});

export const temporalAddress = (c: StackConfig) => `127.0.0.1:${c.ports.temporal}`;
export const apiserverUrl = (c: StackConfig) => `https://127.0.0.1:${c.ports.apiserver}`;
export const etcdUrl = (c: StackConfig) => `http://127.0.0.1:${c.ports.etcdClient}`;
export const apiUrl = (c: StackConfig) => `http://127.0.0.1:${c.ports.api}`;
export const databaseUrl = (c: StackConfig) =>
  `postgres://${c.postgres.user}@${c.postgres.host}:${c.postgres.port}/${c.postgres.database}`;
