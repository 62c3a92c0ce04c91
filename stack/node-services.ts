// The project's own node processes, run from source with tsx: the cluster simulator (plays the
// StackGres operator against the local apiserver), the Temporal worker and the HTTP API.
// Each starts only if its entry file exists, so the stack works while those are still being
// written. Readiness: the simulator and worker print a line; the API answers /healthz.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { apiUrl, databaseUrl, paths, temporalAddress, type StackConfig } from './config.js';
import { logContainsSinceStart } from './processes.js';
import type { Supervised } from './supervise.js';
import { cleanEnv } from './util.js';
import { WORKER_NODE_FLAGS } from '../src/worker/workflow-threads.js';

export type NodeServiceName = 'simulator' | 'worker' | 'api';

export const NODE_SERVICES: Record<NodeServiceName, { entry: string; title: string }> = {
  simulator: { entry: 'simulator/main.ts', title: 'cluster simulator' },
  worker: { entry: 'worker.ts', title: 'Temporal worker' },
  api: { entry: 'src/api/main.ts', title: 'API' },
};

/** The environment every claimflow process reads its dependencies from (also written to .local/env). */
export function serviceEnv(config: StackConfig): Record<string, string> {
  return {
    KUBECONFIG: paths(config).kubeconfig,
    TEMPORAL_ADDRESS: temporalAddress(config),
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: config.temporalTaskQueue,
    DATABASE_URL: databaseUrl(config),
    CLAIMFLOW_API_PORT: String(config.ports.api),
    CLAIMFLOW_STATE_DIR: config.stateDir,
  };
}

export const entryPath = (config: StackConfig, name: NodeServiceName) => join(config.rootDir, NODE_SERVICES[name].entry);

/** Configured to run and its entry file exists. */
export function serviceWanted(config: StackConfig, name: NodeServiceName): boolean {
  return config.services[name] && existsSync(entryPath(config, name));
}

export function nodeServiceComponent(config: StackConfig, name: NodeServiceName): Supervised {
  const extra: Record<string, string> = {};
  if (name === 'simulator' && config.simulatorDelays) {
    extra.SIMULATOR_READY_DELAY_MS = String(config.simulatorDelays.readyMs);
    extra.SIMULATOR_OP_DELAY_MS = String(config.simulatorDelays.opMs);
    extra.SIMULATOR_BACKUP_DELAY_MS = String(config.simulatorDelays.backupMs);
  }
  const readiness: Record<NodeServiceName, Supervised['healthy']> = {
    simulator: (record) => Promise.resolve(logContainsSinceStart(record, 'simulator watching')),
    worker: (record) => Promise.resolve(logContainsSinceStart(record, 'worker running')),
    api: async () => {
      const res = await fetch(`${apiUrl(config)}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return res.status === 200;
    },
  };
  return {
    name,
    title: NODE_SERVICES[name].title,
    ports: name === 'api' ? [{ port: config.ports.api, label: 'claimflow API' }] : [],
    spec: () => ({
      name,
      // The worker as every deployment starts it (its preload tunes the SDK's workflow threads).
      ...(name === 'worker'
        ? { command: process.execPath, args: [...WORKER_NODE_FLAGS, entryPath(config, name)] }
        : { command: join(config.rootDir, 'node_modules', '.bin', 'tsx'), args: [entryPath(config, name)] }),
      env: cleanEnv({ ...serviceEnv(config), ...extra }),
      cwd: config.rootDir,
    }),
    healthy: readiness[name],
    timeoutMs: name === 'simulator' ? 30_000 : 60_000,
  };
}
