// What every reconciler gets: settings, logger, the four watched resource types, Secrets, the
// work queue, and the per-cluster SGDbOps lock.
import type { SimulatorConfig } from './config.js';
import type { Resource, Secrets } from './kube.js';
import type { Logger } from './log.js';
import type { WorkQueue } from './queue.js';
import type { Backup, Claim, Cluster, DbOps } from './types.js';

export type Kind = 'claim' | 'cluster' | 'dbops' | 'backup';

export interface Sim {
  config: SimulatorConfig;
  log: Logger;
  claims: Resource<Claim>;
  clusters: Resource<Cluster>;
  dbops: Resource<DbOps>;
  backups: Resource<Backup>;
  secrets: Secrets;
  queue: WorkQueue;
  /** cluster key (namespace/name) -> name of the SGDbOps running on it */
  opLocks: Map<string, string>;
}

/** Labels the SGCluster and Secret made for a claim (value: the claim's name). */
export const CLAIM_LABEL = 'claimflow.io/claim';

export function workKey(kind: Kind, namespace: string, name: string): string {
  return `${kind}:${namespace}/${name}`;
}

export function parseWorkKey(key: string): { kind: Kind; namespace: string; name: string } {
  const colon = key.indexOf(':');
  const slash = key.indexOf('/', colon + 1);
  return {
    kind: key.slice(0, colon) as Kind,
    namespace: key.slice(colon + 1, slash),
    name: key.slice(slash + 1),
  };
}

/** The claim an SGCluster belongs to (its label, else the same name), if that claim exists. */
export function claimOfCluster(sim: Sim, namespace: string, clusterName: string): Claim | undefined {
  const cluster = sim.clusters.get(namespace, clusterName);
  const claimName = cluster?.metadata?.labels?.[CLAIM_LABEL] ?? clusterName;
  return sim.claims.get(namespace, claimName);
}

export function majorOf(version: string | undefined): string | undefined {
  if (!version) return undefined;
  return version.split('.')[0];
}

/** Pod names of a StackGres cluster: <cluster>-0 .. <cluster>-(n-1). */
export function podsOf(cluster: Cluster): string[] {
  const name = cluster.metadata?.name ?? '';
  return Array.from({ length: Math.max(cluster.spec.instances ?? 1, 0) }, (_, i) => `${name}-${i}`);
}
