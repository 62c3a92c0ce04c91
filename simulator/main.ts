// Cluster simulator: a stand-in for the Crossplane and StackGres controllers on the local control
// plane. It watches PostgreSQLInstance claims, SGClusters, SGDbOps and SGBackups in all namespaces
// and moves them along as those controllers would (docs/simulator.md). Nothing in src/ knows it
// exists: claimflow sees only the API objects.
import { ANNOTATION_PREFIX } from './annotations.js';
import { reconcileBackup } from './backups.js';
import { collectOrphanCluster, reconcileClaim } from './claims.js';
import { ConfigError, loadConfig } from './config.js';
import { CLAIM_LABEL, parseWorkKey, workKey, type Sim } from './context.js';
import { release, reconcileDbOps } from './dbops.js';
import { BACKUPS, CLAIMS, CLUSTERS, DBOPS, Resource, Secrets, Store, loadKubeConfig, nameOf, namespaceOf } from './kube.js';
import { createLogger, errorMessage } from './log.js';
import { WorkQueue } from './queue.js';
import type { Backup, Claim, Cluster, DbOps } from './types.js';

function injectionAnnotations(obj: Claim): string {
  const annotations = obj.metadata?.annotations ?? {};
  return JSON.stringify(
    Object.keys(annotations)
      .filter((k) => k.startsWith(ANNOTATION_PREFIX))
      .sort()
      .map((k) => [k, annotations[k]]),
  );
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`simulator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const kc = loadKubeConfig(config.kubeconfig);

  const stores = {
    claims: new Store<Claim>(kc, CLAIMS, log),
    clusters: new Store<Cluster>(kc, CLUSTERS, log),
    dbops: new Store<DbOps>(kc, DBOPS, log),
    backups: new Store<Backup>(kc, BACKUPS, log),
  };

  // eslint-disable-next-line prefer-const -- sim and queue refer to each other
  let sim: Sim;
  const queue = new WorkQueue(
    async (key) => {
      const { kind, namespace, name } = parseWorkKey(key);
      switch (kind) {
        case 'claim':
          return reconcileClaim(sim, namespace, name);
        case 'cluster':
          return collectOrphanCluster(sim, namespace, name);
        case 'dbops':
          return reconcileDbOps(sim, namespace, name);
        case 'backup':
          return reconcileBackup(sim, namespace, name);
      }
    },
    config.concurrency,
    log,
  );
  sim = {
    config,
    log,
    claims: new Resource(kc, stores.claims),
    clusters: new Resource(kc, stores.clusters),
    dbops: new Resource(kc, stores.dbops),
    backups: new Resource(kc, stores.backups),
    secrets: new Secrets(kc),
    queue,
    opLocks: new Map(),
  };

  // Failure-injection annotations of each claim as last seen: when they change, the cluster's
  // pending operations and backups are looked at again (e.g. a shorter op-delay-ms takes effect now).
  const injections = new Map<string, string>();
  stores.claims.onChange((claim, deleted) => {
    const namespace = namespaceOf(claim);
    const name = nameOf(claim);
    const key = workKey('claim', namespace, name);
    if (deleted) {
      injections.delete(key);
      return;
    }
    queue.add(key);
    const now = injectionAnnotations(claim);
    const before = injections.get(key);
    injections.set(key, now);
    if (before === undefined || before === now) return;
    for (const op of stores.dbops.list(namespace)) {
      if (op.spec.sgCluster === name) queue.add(workKey('dbops', namespace, nameOf(op)));
    }
    for (const backup of stores.backups.list(namespace)) {
      if (backup.spec.sgCluster === name) queue.add(workKey('backup', namespace, nameOf(backup)));
    }
  });
  stores.clusters.onChange((cluster, deleted) => {
    const namespace = namespaceOf(cluster);
    const claimName = cluster.metadata?.labels?.[CLAIM_LABEL] ?? nameOf(cluster);
    queue.add(workKey('claim', namespace, claimName));
    if (!deleted) queue.add(workKey('cluster', namespace, nameOf(cluster)));
  });
  stores.dbops.onChange((op, deleted) => {
    if (deleted) release(sim, namespaceOf(op), op.spec.sgCluster, nameOf(op));
    else queue.add(workKey('dbops', namespaceOf(op), nameOf(op)));
  });
  stores.backups.onChange((backup, deleted) => {
    const namespace = namespaceOf(backup);
    if (!deleted) queue.add(workKey('backup', namespace, nameOf(backup)));
    // A claim restoring from this backup may have been waiting for it.
    for (const claim of stores.claims.list(namespace)) {
      if (claim.spec?.parameters?.restore?.fromBackup === nameOf(backup)) {
        queue.add(workKey('claim', namespace, nameOf(claim)));
      }
    }
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'simulator stopping');
    void (async () => {
      try {
        await Promise.all(Object.values(stores).map((s) => s.stop()));
        await queue.shutdown(5_000);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'error while stopping');
      }
      log.info('simulator stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  log.info(
    {
      server: kc.getCurrentCluster()?.server,
      readyDelayMs: config.readyDelayMs,
      opDelayMs: config.opDelayMs,
      backupDelayMs: config.backupDelayMs,
      concurrency: config.concurrency,
    },
    'simulator starting',
  );
  await Promise.all(Object.values(stores).map((s) => s.start()));
  if (stopping) return;
  // Every cache is listed before anything is acted on (so e.g. an SGCluster is never taken for an
  // orphan because its claim was not listed yet).
  queue.start();
  log.info(
    {
      claims: stores.claims.list().length,
      sgClusters: stores.clusters.list().length,
      sgDbOps: stores.dbops.list().length,
      sgBackups: stores.backups.list().length,
    },
    'simulator watching',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
