import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';

// The Kubernetes objects claimflow writes, as plain builders. Group, version and kind match the
// Crossplane XRD's claim and StackGres's own CRDs, so production and the local stack read the same.

/** A kind of object, as the API server's paths and client-node's generic calls name it. */
export interface Kind {
  apiVersion: string;
  kind: string;
  plural: string;
}

export const CLAIM = { apiVersion: 'db.claimflow.io/v1alpha1', kind: 'PostgreSQLInstance', plural: 'postgresqlinstances' } as const;
export const SGCLUSTER = { apiVersion: 'stackgres.io/v1', kind: 'SGCluster', plural: 'sgclusters' } as const;
export const SGDBOPS = { apiVersion: 'stackgres.io/v1', kind: 'SGDbOps', plural: 'sgdbops' } as const;
export const SGBACKUP = { apiVersion: 'stackgres.io/v1', kind: 'SGBackup', plural: 'sgbackups' } as const;

export const FIELD_MANAGER = 'claimflow';
export const LABELS = { tenant: 'claimflow.io/tenant', instance: 'claimflow.io/instance', instanceId: 'claimflow.io/instance-id', operation: 'claimflow.io/operation-id' };

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/** A namespaced custom object as read back from the API server. */
export interface CustomObject extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[] } & Record<string, unknown>;
}

export const conditionOf = (object: CustomObject | undefined, type: string): Condition | undefined =>
  object?.status?.conditions?.find((condition) => condition.type === type);

export const isTrue = (object: CustomObject | undefined, type: string): boolean => conditionOf(object, type)?.status === 'True';

/** A namespace's collection of a kind, or the kind's across all namespaces. */
export const collectionPath = (resource: { apiVersion: string; plural: string }, namespace?: string): string =>
  `/apis/${resource.apiVersion}/${namespace === undefined ? '' : `namespaces/${namespace}/`}${resource.plural}`;

export interface InstanceRef {
  tenant: string;
  namespace: string;
  instanceName: string;
  instanceId: string;
}

const labelsOf = (ref: InstanceRef, operationId?: string): Record<string, string> => ({
  [LABELS.tenant]: ref.tenant,
  [LABELS.instance]: ref.instanceName,
  [LABELS.instanceId]: ref.instanceId,
  ...(operationId ? { [LABELS.operation]: operationLabel(operationId) } : {}),
});

/** The whole operation id, which a label may only abbreviate. */
const annotationsOf = (operationId: string): Record<string, string> => ({ [LABELS.operation]: operationId });

const LABEL_VALUE_MAX = 63;
const LABEL_HASH_LENGTH = 8;

/** Letters, digits, '-', '_' and '.', beginning and ending with a letter or digit. */
const asLabelCharacters = (text: string): string =>
  text.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');

/**
 * An operation id as a label value (at most 63 characters; a run id cut at 63 can end in '-', and
 * the API server refused that object on every retry). An id too long for a label keeps its
 * beginning and ends in a hash of the whole id: a window's run ids differ only past the 63rd
 * character (the instance's name comes last), and cut ones labelled every instance's objects of
 * that run alike.
 */
export const operationLabel = (operationId: string): string => {
  if (operationId.length <= LABEL_VALUE_MAX) return asLabelCharacters(operationId);
  const hash = createHash('sha256').update(operationId, 'utf8').digest('hex').slice(0, LABEL_HASH_LENGTH);
  const beginning = asLabelCharacters(operationId.slice(0, LABEL_VALUE_MAX - LABEL_HASH_LENGTH - 1));
  return beginning ? `${beginning}-${hash}` : hash;
};

/** The operation an object names: its annotation's whole id, or on an object made before it, its label. */
export const operationNamedBy = (object: KubernetesObject): string | undefined =>
  object.metadata?.annotations?.[LABELS.operation] ?? object.metadata?.labels?.[LABELS.operation];

/**
 * Whether this operation made the object, by its annotation, or by its label where the object
 * predates the annotation: today's label, or the cut one written before long ids were hashed.
 */
export function madeByOperation(object: KubernetesObject, operationId: string): boolean {
  const annotated = object.metadata?.annotations?.[LABELS.operation];
  if (annotated !== undefined) return annotated === operationId;
  const label = object.metadata?.labels?.[LABELS.operation];
  return label === operationLabel(operationId) || label === asLabelCharacters(operationId.slice(0, LABEL_VALUE_MAX));
}

export interface ClaimParameters {
  size: string;
  instances: number;
  version: string;
  maintenance: { dayOfWeek: string; timeOfDay: string };
  backup?: { schedule: string; retention: number };
  deletionProtection: boolean;
  restore?: { fromBackup: string; pointInTime?: string };
  connectionSecretName: string;
}

export function buildClaim(ref: InstanceRef, parameters: ClaimParameters): CustomObject {
  return {
    apiVersion: CLAIM.apiVersion,
    kind: CLAIM.kind,
    metadata: { name: ref.instanceName, namespace: ref.namespace, labels: labelsOf(ref) },
    spec: {
      parameters: {
        size: parameters.size,
        instances: parameters.instances,
        postgres: { version: parameters.version },
        maintenance: parameters.maintenance,
        ...(parameters.backup ? { backup: parameters.backup } : {}),
        deletionProtection: parameters.deletionProtection,
        ...(parameters.restore ? { restore: parameters.restore } : {}),
      },
      writeConnectionSecretToRef: { name: parameters.connectionSecretName },
    },
  };
}

export type DbOpsSpec =
  | { op: 'restart'; restart: { method: 'InPlace' | 'ReducedImpact'; onlyPendingRestart: boolean } }
  | { op: 'securityUpgrade'; securityUpgrade: { method: 'InPlace' | 'ReducedImpact' } }
  | { op: 'minorVersionUpgrade'; minorVersionUpgrade: { postgresVersion: string; method: 'InPlace' | 'ReducedImpact' } }
  | { op: 'majorVersionUpgrade'; majorVersionUpgrade: { postgresVersion: string; link: boolean; check: boolean; backupPath?: string } };

export function buildDbOps(ref: InstanceRef, name: string, cluster: string, spec: DbOpsSpec, operationId: string, timeout: string): CustomObject {
  return {
    apiVersion: SGDBOPS.apiVersion,
    kind: SGDBOPS.kind,
    metadata: { name, namespace: ref.namespace, labels: labelsOf(ref, operationId), annotations: annotationsOf(operationId) },
    spec: { sgCluster: cluster, timeout, maxRetries: 0, ...spec },
  };
}

export function buildBackup(ref: InstanceRef, name: string, cluster: string, operationId: string, managedLifecycle: boolean): CustomObject {
  return {
    apiVersion: SGBACKUP.apiVersion,
    kind: SGBACKUP.kind,
    metadata: { name, namespace: ref.namespace, labels: labelsOf(ref, operationId), annotations: annotationsOf(operationId) },
    spec: { sgCluster: cluster, managedLifecycle },
  };
}
