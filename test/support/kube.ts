import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { loadKubeConfig } from './env.js';

// Reading and nudging the cluster from tests: what the workflow created, and the simulator's
// failure-injection annotations on a claim.

type Resource = 'postgresqlinstances' | 'sgclusters' | 'sgdbops' | 'sgbackups';
const GROUPS: Record<Resource, [string, string]> = {
  postgresqlinstances: ['db.claimflow.io', 'v1alpha1'],
  sgclusters: ['stackgres.io', 'v1'],
  sgdbops: ['stackgres.io', 'v1'],
  sgbackups: ['stackgres.io', 'v1'],
};

const KINDS: Record<Resource, string> = { postgresqlinstances: 'PostgreSQLInstance', sgclusters: 'SGCluster', sgdbops: 'SGDbOps', sgbackups: 'SGBackup' };

export interface Obj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: Record<string, any>;
  status?: Record<string, any>;
}

let api: CustomObjectsApi | undefined;
const custom = () => (api ??= loadKubeConfig().makeApiClient(CustomObjectsApi));

export async function list(resource: Resource, namespace: string, labelSelector?: string): Promise<Obj[]> {
  const [group, version] = GROUPS[resource];
  const result = (await custom().listNamespacedCustomObject({ group, version, namespace, plural: resource, ...(labelSelector ? { labelSelector } : {}) })) as { items: Obj[] };
  return result.items;
}

export async function get(resource: Resource, namespace: string, name: string): Promise<Obj | undefined> {
  const [group, version] = GROUPS[resource];
  try {
    return (await custom().getNamespacedCustomObject({ group, version, namespace, plural: resource, name })) as Obj;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Sets simulator annotations (sim.claimflow.io/...) on a claim, as another field manager. */
export async function annotateClaim(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void> {
  const [group, version] = GROUPS.postgresqlinstances;
  const prefixed = Object.fromEntries(Object.entries(annotations).map(([key, value]) => [`sim.claimflow.io/${key}`, value]));
  await custom().patchNamespacedCustomObject(
    { group, version, namespace, plural: 'postgresqlinstances', name, body: { metadata: { annotations: prefixed } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Creates an object, as a person with kubectl would. */
export async function create(resource: Resource, namespace: string, object: Omit<Obj, 'status'>): Promise<void> {
  const [group, version] = GROUPS[resource];
  const body = { apiVersion: `${group}/${version}`, kind: KINDS[resource], ...object };
  await custom().createNamespacedCustomObject({ group, version, namespace, plural: resource, body });
}

export async function remove(resource: Resource, namespace: string, name: string): Promise<void> {
  const [group, version] = GROUPS[resource];
  await custom().deleteNamespacedCustomObject({ group, version, namespace, plural: resource, name });
}

export const condition = (object: Obj | undefined, type: string) =>
  (object?.status?.conditions as { type: string; status: string; reason?: string; message?: string }[] | undefined)?.find((c) => c.type === type);
